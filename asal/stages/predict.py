"""Scoring new parts with a finished run: `asal predict` and `asal export`.

`predict` decodes every image exactly as the run decoded its pool (asal/data/decode.py:
RGB, or gray copied to three channels where the run was grayscale; resized to the run's
size, stretched), scores it with the run's classifier (p_defect and the label at the
artefact's threshold) and, where the scorer that ranked the pool still has its model, with
its anomaly score. `export` writes the classifier, its normalisation included, as
ONNX with the artefact's facts in the model's metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from asal.data.decode import UnreadableImage, decode_image, image_header
from asal.data.folders import IMAGE_SUFFIXES, MASK_DIR
from asal.errors import AsalError
from asal.models.evidence_ranks import EvidenceKnots
from asal.models.frozen_features import PooledFeatures
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


def report_conversions(files: list[Path], artefact: dict) -> None:
    """Say once how many images differ from the run's own pool images in size or colour
    mode, and how they are converted (as the pool's were). Images like the pool's are
    converted the same way without a word: the notice is for what the run never saw."""
    size, grayscale = artefact["image_size"], artefact["grayscale"]
    seen = {tuple(f) for f in artefact.get("pool_formats", [])} or \
        {(size, size, "L" if grayscale else "RGB")}
    odd = [(p, *image_header(p)) for p in files]
    odd = [(p, s, m) for p, s, m in odd if (*s, m) not in seen]
    if odd:
        first, (w, h), m = odd[0]
        pool = ", ".join(f"{a} x {b} px {c}" for a, b, c in sorted(seen))
        print(f"{len(odd)} of the {len(files)} images differ in size or colour mode from the "
              f"run's pool ({pool}; first: {first.name}, {w} x {h} px {m}); each is converted "
              f"as in training: to {'grayscale, then ' if grayscale else ''}RGB and resized to "
              f"{size} x {size} px, stretched.")


def decode_all(files: list[Path], size: int, grayscale: bool,
               skip_unreadable: bool) -> tuple[list[Path], np.ndarray, list[tuple[Path, str]]]:
    """The files that decode and their images; those that do not, with the reason, when
    `skip_unreadable`; else the first that does not stops with its sentence."""
    readable, arrays, skipped = [], [], []
    for path in files:
        try:
            arrays.append(decode_image(path, size, grayscale))
            readable.append(path)
        except UnreadableImage as err:
            if not skip_unreadable:
                raise AsalError(f"{str(err).rstrip('.')}, or pass --skip-unreadable to score "
                                "the other images and list the unreadable ones.") from None
            skipped.append((path, err.reason))
    images = np.stack(arrays) if arrays else np.zeros((0, 3, size, size), np.uint8)
    return readable, images, skipped


def anomaly_scores(classifier: Classifier, images: torch.Tensor) -> np.ndarray | None:
    """The scores of the scorer that ranked the run's pool, where its model is on disk."""
    folder, a = classifier.scorer(), classifier.artefact
    if folder is None:
        return None
    return AnomalyMaps(folder, a["image_size"], a["grayscale"]).scores(images)


def predict(run_dir, inputs, skip_unreadable: bool = False) -> pd.DataFrame:
    """path, p_defect, predicted (good/defect at the threshold), anomaly_score per image;
    `attrs` holds the threshold and its rule, and the files skipped as unreadable with
    the reason (`skipped`)."""
    classifier = Classifier.load(run_dir)
    a = classifier.artefact
    files = image_files(inputs)
    files, images, skipped = decode_all(files, a["image_size"], a["grayscale"],
                                        skip_unreadable)
    report_conversions(files, a)
    images = torch.from_numpy(images)
    p = classifier.p_defect(images)
    anomaly = anomaly_scores(classifier, images)
    if anomaly is None:
        print("No anomaly score: the scorer that ranked the run's pool has no model on this "
              "disk (the anomaly_score column is empty).")
    frame = pd.DataFrame({"path": [str(f) for f in files], "p_defect": p,
                          "predicted": classifier.label(p),
                          "anomaly_score": anomaly if anomaly is not None else np.nan},
                         columns=COLUMNS)
    frame.attrs.update(threshold=a["threshold"], threshold_rule=a["threshold_rule"],
                       skipped=skipped)
    return frame


class _Exported(torch.nn.Module):
    """uint8 images (N, 3, H, W) -> p(defect) (N,): the normalisation, the network and, for
    a head on frozen features, that head (asal/models/frozen_features.py); for head
    evidence also the images' anomaly scores (N,), turned into the head's evidence in the
    graph: the normal score of each one's place among the pool's scores
    (asal/models/evidence_ranks.py: EvidenceKnots). The body runs in float32; the evidence
    and the head's sum in float64, as the loop computes them: in float32, two pool scores
    closer than its precision would merge, and the map between them would jump."""

    def __init__(self, classifier: Classifier):
        super().__init__()
        a = classifier.artefact
        self.register_buffer("mean", torch.tensor(a["normalize_mean"]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(a["normalize_std"]).view(1, 3, 1, 1))
        self.head = a.get("head")
        if self.head is None:
            self.network = classifier.network()
        else:
            self.network = PooledFeatures(classifier.network(), self.head["features"])
            self.register_buffer("weight", self.head["weight"].double())
            self.register_buffer("bias", self.head["bias"].double())
        evidence = a.get("evidence")
        self.beta = None if evidence is None else float(a["head"]["beta"])
        if evidence is not None:
            self.knots = EvidenceKnots.of(evidence["pool_scores"].numpy()).double()

    def forward(self, images, anomaly_scores=None):
        x = (images.float() / 255 - self.mean) / self.std
        if self.head is None:
            logits = self.network(x)
            return torch.sigmoid(logits[:, 1] - logits[:, 0])
        logit = self.network(x).double() @ self.weight + self.bias
        if self.beta is not None:
            logit = logit + self.beta * self.knots(anomaly_scores.double())
        return torch.sigmoid(logit).float()


def export_metadata(artefact: dict) -> dict[str, str]:
    """What a user of the ONNX file needs to feed it and read it."""
    size = artefact["image_size"]
    scores = ("; anomaly_scores float64 (N,): each image's anomaly score from the scorer "
              "that ranked the pool (asal predict's anomaly_score column)"
              if artefact.get("evidence") is not None else "")
    return {"input": f"images uint8 (N, 3, {size}, {size}) RGB"
                     + (", gray copied to 3 channels" if artefact["grayscale"] else "")
                     + scores,
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
    inputs = (torch.zeros(2, 3, size, size, dtype=torch.uint8),)
    names, shapes = ["images"], {"images": {0: "n"}}
    if classifier.artefact.get("evidence") is not None:
        inputs += (torch.zeros(2, dtype=torch.float64),)
        names.append("anomaly_scores")
        shapes["anomaly_scores"] = {0: "n"}
    program = torch.onnx.export(_Exported(classifier).eval(), inputs, input_names=names,
                                output_names=["p_defect"], dynamic_shapes=shapes,
                                verbose=False)
    model = program.model_proto
    onnx.helper.set_model_props(model, export_metadata(classifier.artefact))
    write_bytes(out, model.SerializeToString())
    return Path(out)
