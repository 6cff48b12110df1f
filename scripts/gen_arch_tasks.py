#!/usr/bin/env python3
"""Regenerate the transformers tables kura-formats uses to derive a model's task.

The Hub infers `pipeline_tag` and `transformersInfo` of a transformers model from the first
entry of `architectures` in its config.json. The server code doing it is private; what is public
is transformers' own mapping of model classes to Auto classes. This script reads those mappings
from the installed package (no network, no model is loaded) and writes three sorted,
tab-separated tables next to `crates/kura-formats/src/derive/mod.rs`:

* `arch_tasks.tsv`: architecture class, Auto class, Hub pipeline tag (`-` when none).
* `auto_tasks.tsv`: Auto class, priority, Hub pipeline tag: for custom code (`auto_map` in
  config.json), whose classes transformers does not know.
* `model_types.tsv`: config `model_type`, processor Auto class, default mask token (`-` when
  none).

Rules (kura's choices where the Hub does not document its own):

* A class listed by several `MODEL_FOR_*_MAPPING_NAMES` takes the first Auto class of
  `AUTO_PRIORITY` that lists it: task heads before generic ones, so `GPT2LMHeadModel` (causal LM
  and pretraining) is `AutoModelForCausalLM`/text-generation, `CLIPModel` (zero-shot image
  classification and base model) is `AutoModelForZeroShotImageClassification`. Image-text-to-text
  comes first: vision-language classes that transformers also lists as causal LMs (Gemma 3)
  are image-text-to-text on the Hub; speech seq2seq before text seq2seq (Voxtral is listed by
  both and is a speech recognizer).
* Auto classes map to the Hub's pipeline tags of huggingface.js `pipelines.ts`, not to
  transformers' task names: seq2seq LMs are text-generation since the Hub dropped
  text2text-generation (huggingface.js #1590), text-to-speech models are text-to-audio.
* Mappings no Auto class serves (retrieval, time-series classification, ...) are left out: the
  Hub's `transformersInfo.auto_model` must name a class a user can call.
* A base model (`AutoModel`) is feature-extraction, or image-feature-extraction when
  transformers lists the class as an image model (`MODEL_FOR_IMAGE_MAPPING_NAMES`).
* Processor: `AutoProcessor` when the model type has a processor, else `AutoTokenizer` when it
  has a tokenizer, else `AutoImageProcessor`, else `AutoFeatureExtractor`.
* Mask token: the default `mask_token` argument of the model type's tokenizer class.

    /work/main/.venv/bin/python scripts/gen_arch_tasks.py   # rewrites the three tables
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
from pathlib import Path

logging.disable(logging.WARNING)

import transformers  # noqa: E402

# Imported as modules: `from transformers.models.auto import x` goes through the lazy loader,
# which answers with placeholders when torch is absent.
feature_extraction_auto = importlib.import_module("transformers.models.auto.feature_extraction_auto")
image_processing_auto = importlib.import_module("transformers.models.auto.image_processing_auto")
modeling_auto = importlib.import_module("transformers.models.auto.modeling_auto")
processing_auto = importlib.import_module("transformers.models.auto.processing_auto")
tokenization_auto = importlib.import_module("transformers.models.auto.tokenization_auto")

OUT = Path(__file__).resolve().parent.parent / "crates/kura-formats/src/derive"

# Auto class -> Hub pipeline tag (None: the Hub has no tag for it; the Auto class is still
# reported). Order is the priority when a class appears in several mappings.
AUTO_PRIORITY: list[tuple[str, str | None]] = [
    ("AutoModelForImageTextToText", "image-text-to-text"),
    ("AutoModelForCausalLM", "text-generation"),
    ("AutoModelForMaskedLM", "fill-mask"),
    ("AutoModelForSpeechSeq2Seq", "automatic-speech-recognition"),
    ("AutoModelForSeq2SeqLM", "text-generation"),
    ("AutoModelForSequenceClassification", "text-classification"),
    ("AutoModelForTokenClassification", "token-classification"),
    ("AutoModelForTableQuestionAnswering", "table-question-answering"),
    ("AutoModelForDocumentQuestionAnswering", "document-question-answering"),
    ("AutoModelForVisualQuestionAnswering", "visual-question-answering"),
    ("AutoModelForQuestionAnswering", "question-answering"),
    ("AutoModelForMultipleChoice", "multiple-choice"),
    ("AutoModelForCTC", "automatic-speech-recognition"),
    ("AutoModelForTDT", "automatic-speech-recognition"),
    ("AutoModelForRNNT", "automatic-speech-recognition"),
    ("AutoModelForAudioClassification", "audio-classification"),
    ("AutoModelForAudioFrameClassification", None),
    ("AutoModelForAudioXVector", None),
    ("AutoModelForAudioTokenization", None),
    ("AutoModelForTextToWaveform", "text-to-audio"),
    ("AutoModelForTextToSpectrogram", "text-to-audio"),
    ("AutoModelForZeroShotImageClassification", "zero-shot-image-classification"),
    ("AutoModelForZeroShotObjectDetection", "zero-shot-object-detection"),
    ("AutoModelForImageClassification", "image-classification"),
    ("AutoModelForObjectDetection", "object-detection"),
    ("AutoModelForUniversalSegmentation", "image-segmentation"),
    ("AutoModelForImageSegmentation", "image-segmentation"),
    ("AutoModelForSemanticSegmentation", "image-segmentation"),
    ("AutoModelForInstanceSegmentation", "image-segmentation"),
    ("AutoModelForDepthEstimation", "depth-estimation"),
    ("AutoModelForVideoClassification", "video-classification"),
    ("AutoModelForMaskGeneration", "mask-generation"),
    ("AutoModelForKeypointDetection", "keypoint-detection"),
    ("AutoModelForKeypointMatching", "keypoint-detection"),
    ("AutoModelForImageToImage", "image-to-image"),
    ("AutoModelForTextRecognition", "image-to-text"),
    ("AutoModelForTimeSeriesPrediction", "time-series-forecasting"),
    ("AutoModelForMultimodalLM", "any-to-any"),
    ("AutoModelForTableRecognition", None),
    ("AutoModelForPoseEstimation", None),
    ("AutoModelForNormalEstimation", None),
    ("AutoModelForPointmapEstimation", None),
    ("AutoModelForImageMatting", None),
    ("AutoModelForDecision", None),
    ("AutoModelForMaskedImageModeling", None),
    ("AutoModelForNextSentencePrediction", None),
    ("AutoModelForPreTraining", None),
    ("AutoModel", "feature-extraction"),
    ("AutoModelForTextEncoding", "feature-extraction"),
]

# Tags of huggingface.js packages/tasks/src/pipelines.ts the table may use.
HUB_TASKS = {
    "any-to-any", "audio-classification", "automatic-speech-recognition", "depth-estimation",
    "document-question-answering", "feature-extraction", "fill-mask", "image-classification",
    "image-feature-extraction", "image-segmentation", "image-text-to-text", "image-to-image",
    "image-to-text", "keypoint-detection", "mask-generation", "multiple-choice",
    "object-detection", "question-answering", "table-question-answering", "text-classification",
    "text-generation", "text-to-audio", "time-series-forecasting", "token-classification",
    "video-classification", "visual-question-answering",
    "zero-shot-image-classification", "zero-shot-object-detection",
}


def class_names(value: object) -> list[str]:
    """A mapping value is a class name or a tuple of them."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (tuple, list)):
        return [v for v in value if isinstance(v, str)]
    return []


def auto_mappings() -> dict[str, dict[str, object]]:
    """Auto class name -> its `*_MAPPING_NAMES` dict, found through the class itself."""
    found = {}
    for name, _ in AUTO_PRIORITY:
        auto = getattr(modeling_auto, name, None)
        lazy = getattr(auto, "_model_mapping", None)
        names = getattr(lazy, "_model_mapping", None)
        if not isinstance(names, dict):
            sys.exit(f"{name}: no mapping in transformers {transformers.__version__}")
        found[name] = names
    listed = {n for n, _ in AUTO_PRIORITY}
    missing = [
        n for n in dir(modeling_auto)
        if n.startswith("AutoModel") and n not in listed
        and isinstance(getattr(getattr(getattr(modeling_auto, n), "_model_mapping", None),
                               "_model_mapping", None), dict)
    ]
    if missing:
        sys.exit(f"Auto classes without a priority, add them to AUTO_PRIORITY: {missing}")
    return found


def arch_rows() -> list[tuple[str, str, str]]:
    image_models = {c for v in modeling_auto.MODEL_FOR_IMAGE_MAPPING_NAMES.values()
                    for c in class_names(v)}
    mappings = auto_mappings()
    rows: dict[str, tuple[str, str]] = {}
    for auto, task in AUTO_PRIORITY:
        for value in mappings[auto].values():
            for arch in class_names(value):
                if arch in rows:
                    continue
                row_task = task
                if auto == "AutoModel" and arch in image_models:
                    row_task = "image-feature-extraction"
                rows[arch] = (auto, row_task or "-")
    return sorted((a, auto, t) for a, (auto, t) in rows.items())


def processor_for(model_type: str) -> str | None:
    if model_type in processing_auto.PROCESSOR_MAPPING_NAMES:
        return "AutoProcessor"
    if tokenization_auto.TOKENIZER_MAPPING_NAMES.get(model_type):
        return "AutoTokenizer"
    if model_type in image_processing_auto.IMAGE_PROCESSOR_MAPPING_NAMES:
        return "AutoImageProcessor"
    if model_type in feature_extraction_auto.FEATURE_EXTRACTOR_MAPPING_NAMES:
        return "AutoFeatureExtractor"
    return None


def mask_token_for(model_type: str) -> str | None:
    for name in class_names(tokenization_auto.TOKENIZER_MAPPING_NAMES.get(model_type)):
        try:
            cls = getattr(transformers, name)
            default = inspect.signature(cls.__init__).parameters["mask_token"].default
        except Exception:  # absent class, optional backend missing, no such argument
            continue
        if isinstance(default, str) and default:
            return default
    return None


def model_type_rows() -> list[tuple[str, str, str]]:
    types = set(modeling_auto.MODEL_MAPPING_NAMES) | set(tokenization_auto.TOKENIZER_MAPPING_NAMES)
    rows = []
    for model_type in types:
        processor = processor_for(model_type)
        mask = mask_token_for(model_type)
        if processor or mask:
            rows.append((model_type, processor or "-", mask or "-"))
    return sorted(rows)


def write(name: str, header: str, rows: list[tuple[str, ...]]) -> None:
    for row in rows:
        # Keys are ASCII so that Python's order is the byte order the Rust side searches in.
        if not row[0].isascii():
            sys.exit(f"{name}: non-ASCII key {row[0]!r}")
        for cell in row:
            if not cell or any(c in cell for c in "\t\n\r"):
                sys.exit(f"{name}: unusable cell {cell!r} in {row}")
    keys = [r[0] for r in rows]
    if len(set(keys)) != len(keys):
        sys.exit(f"{name}: duplicate keys")
    lines = [f"# {header} (transformers {transformers.__version__}; scripts/gen_arch_tasks.py)"]
    lines += ["\t".join(r) for r in rows]
    (OUT / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{name}: {len(rows)} rows")


def main() -> None:
    for _, task in AUTO_PRIORITY:
        if task is not None and task not in HUB_TASKS:
            sys.exit(f"{task} is not a Hub pipeline tag")
    write("arch_tasks.tsv", "architecture, Auto class, pipeline tag", arch_rows())
    write("auto_tasks.tsv", "Auto class, priority (lower first), pipeline tag",
          sorted((a, f"{rank:02}", t or "-") for rank, (a, t) in enumerate(AUTO_PRIORITY)))
    write("model_types.tsv", "model_type, processor, mask token", model_type_rows())


if __name__ == "__main__":
    main()
