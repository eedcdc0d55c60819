"""The named categories the project knows: MVTec AD's fifteen (the paper's)."""

MVTEC_CATEGORIES = (
    "bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "metal_nut",
    "pill", "screw", "tile", "toothbrush", "transistor", "wood", "zipper",
)
# The paper turns these categories to 3-channel grayscale before the classifier.
GRAYSCALE_CATEGORIES = ("grid", "screw", "zipper")
