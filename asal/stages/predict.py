"""Scoring new parts with a finished run: `python -m asal predict` and `asal export`.

`predict` decodes every image exactly as the run decoded its pool (asal/data/decode.py:
RGB, or gray copied to three channels where the run was grayscale; resized to the run's
size, stretched), scores it with the run's classifier (p_defect and the label at the
artefact's threshold) and, where the DRAEM run that ranked the pool still has its model,
with DRAEM's anomaly score. `export` writes the classifier, its normalisation included, as
ONNX with the artefact's facts in the model's metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from asal.data.decode import decode_image, decode_many, image_header
from asal.data.folders import IMAGE_SUFFIXES, MASK_DIR
from asal.errors import AsalError
from asal.stages.anomaly_maps import AnomalyMaps
from asal.stages.artefact import Classifier

COLUMNS = ["path", "p_defect", "predicted", "anomaly_score"]


def image_files(inputs) -> list[Path]:
    """The image files among `inputs` (files, or folders searched recursively). A folder's
    ground_truth/ holds defect masks in the ASAL and MVTec AD layout, not parts: skipped."""
    files: list[Path] = []
    for given in map(Path, inputs):
        if given.is_dir():
            found = sorted(p for p in given.rglob("*") if p.is_file()
                           and p.suffix.lower() in IMAGE_SUFFIXES
                           and MASK_DIR not in p.relative_to(given).parts[:-1])
            if not found:
                raise AsalError(f"{given} holds no images ({', '.join(IMAGE_SUFFIXES)}); give "
                                "a folder of images or the image files themselves.")
            files += found
        elif given.is_file():
            if given.suffix.lower() not in IMAGE_SUFFIXES:
                raise AsalError(f"{given} is not an image file ({', '.join(IMAGE_SUFFIXES)}).")
            files.append(given)
        else:
            raise AsalError(f"{given} does not exist; give image files or folders of them.")
    return files


def report_conversions(files: list[Path], size: int, grayscale: bool) -> None:
    """Say once how many images are converted, and how, as the run's own were."""
    mode = "L" if grayscale else "RGB"
    odd = [(p, *image_header(p)) for p in files]
    odd = [(p, s, m) for p, s, m in odd if s != (size, size) or m != mode]
    if odd:
        first, (w, h), m = odd[0]
        print(f"{len(odd)} of the {len(files)} images are not {size} x {size} px {mode} "
              f"(first: {first.name}, {w} x {h} px {m}); each is converted as in training: "
              f"to {'grayscale, then ' if grayscale else ''}RGB and resized to {size} x {size} "
              "px, stretched.")


def anomaly_scores(classifier: Classifier, images: torch.Tensor) -> np.ndarray | None:
    """DRAEM's image scores where the run's detector is still on disk, else None."""
    folder, a = classifier.detector(), classifier.artefact
    if folder is None:
        return None
    return AnomalyMaps(folder, a["image_size"], a["grayscale"]).scores(images)


def predict(run_dir, inputs) -> pd.DataFrame:
    """path, p_defect, predicted (good/defect at the threshold), anomaly_score per image;
    `attrs` holds the threshold and its rule."""
    classifier = Classifier.load(run_dir)
    a = classifier.artefact
    files = image_files(inputs)
    report_conversions(files, a["image_size"], a["grayscale"])
    images = torch.from_numpy(decode_many(files, decode_image, a["image_size"],
                                          a["grayscale"]))
    p = classifier.p_defect(images)
    anomaly = anomaly_scores(classifier, images)
    if anomaly is None:
        print("No anomaly score: the run's pool was ranked without a DRAEM model that is "
              "still on disk (the anomaly_score column is empty).")
    frame = pd.DataFrame({"path": [str(f) for f in files], "p_defect": p,
                          "predicted": classifier.label(p),
                          "anomaly_score": anomaly if anomaly is not None else np.nan},
                         columns=COLUMNS)
    frame.attrs.update(threshold=a["threshold"], threshold_rule=a["threshold_rule"])
    return frame


class _Exported(torch.nn.Module):
    """uint8 images (N, 3, H, W) -> p(defect) (N,): the normalisation and the network."""

    def __init__(self, classifier: Classifier):
        super().__init__()
        a = classifier.artefact
        self.network = classifier.network()
        self.register_buffer("mean", torch.tensor(a["normalize_mean"]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(a["normalize_std"]).view(1, 3, 1, 1))

    def forward(self, images):
        x = (images.float() / 255 - self.mean) / self.std
        return torch.softmax(self.network(x), 1)[:, 1]


def export_metadata(artefact: dict) -> dict[str, str]:
    """What a user of the ONNX file needs to feed it and read it."""
    size = artefact["image_size"]
    return {"input": f"uint8 (N, 3, {size}, {size}) RGB"
                     + (", gray copied to 3 channels" if artefact["grayscale"] else ""),
            "output": "p_defect (N,): the probability of class 'defect'",
            "threshold": repr(artefact["threshold"]),
            "threshold_rule": artefact["threshold_rule"],
            "class_names": ",".join(artefact["class_names"]),
            "normalize_mean": json.dumps(artefact["normalize_mean"]),
            "normalize_std": json.dumps(artefact["normalize_std"]),
            "record": artefact["record"]}


def export_onnx(run_dir, out) -> Path:
    """The run's classifier as ONNX (batch size free), written atomically to `out`."""
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError:
        raise AsalError("Exporting to ONNX needs the onnx packages: pip install -e "
                        "'.[export]' (part of '.[dev]').") from None
    from asal.io import write_bytes

    classifier = Classifier.load(run_dir)
    size = classifier.artefact["image_size"]
    example = torch.zeros(2, 3, size, size, dtype=torch.uint8)
    program = torch.onnx.export(_Exported(classifier).eval(), (example,),
                                input_names=["images"], output_names=["p_defect"],
                                dynamic_shapes={"images": {0: "n"}}, verbose=False)
    model = program.model_proto
    onnx.helper.set_model_props(model, export_metadata(classifier.artefact))
    write_bytes(out, model.SerializeToString())
    return Path(out)
