//! What a repository's file list says about a model, in one pass over the paths (a revision may
//! hold 100,000 of them): the weight formats present, which the Hub lists among the tags, and
//! the few files the other rules look for.

/// A file format the Hub tags a model with, in the order its tags list them (gpt2 on the Hub:
/// pytorch, tf, jax, tflite, rust, onnx, safetensors; the others placed after by kura).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Pytorch,
    Tf,
    Jax,
    Tflite,
    Rust,
    Onnx,
    Tensorboard,
    Safetensors,
    Gguf,
    Coreml,
}

impl Format {
    pub const ALL: [Format; 10] = [
        Format::Pytorch,
        Format::Tf,
        Format::Jax,
        Format::Tflite,
        Format::Rust,
        Format::Onnx,
        Format::Tensorboard,
        Format::Safetensors,
        Format::Gguf,
        Format::Coreml,
    ];

    pub fn tag(self) -> &'static str {
        match self {
            Format::Pytorch => "pytorch",
            Format::Tf => "tf",
            Format::Jax => "jax",
            Format::Tflite => "tflite",
            Format::Rust => "rust",
            Format::Onnx => "onnx",
            Format::Tensorboard => "tensorboard",
            Format::Safetensors => "safetensors",
            Format::Gguf => "gguf",
            Format::Coreml => "coreml",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// The format a path belongs to, from its extension (PyTorch: `.bin`, `.pt`, `.pth`;
    /// TensorFlow: `.h5`; Flax: `.msgpack`; rust-bert: `.ot`), a `tfevents` file name
    /// (TensorBoard, hub-docs `tensorboard.md`) or an `.mlpackage` folder on the way (Core ML).
    fn of(path: &str) -> Option<Format> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
        let is = |wanted: &str| ext.eq_ignore_ascii_case(wanted);
        let format = if is("mlmodel") || path.split('/').any(|seg| ends_with_ignore_case(seg, ".mlpackage")) {
            Format::Coreml
        } else if is("bin") || is("pt") || is("pth") {
            Format::Pytorch
        } else if is("h5") {
            Format::Tf
        } else if is("msgpack") {
            Format::Jax
        } else if is("tflite") {
            Format::Tflite
        } else if is("ot") {
            Format::Rust
        } else if is("onnx") {
            Format::Onnx
        } else if is("safetensors") {
            Format::Safetensors
        } else if is("gguf") {
            Format::Gguf
        } else if name.contains("tfevents") {
            Format::Tensorboard
        } else {
            return None;
        };
        Some(format)
    }
}

fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text.get(text.len() - suffix.len()..).is_some_and(|end| end.eq_ignore_ascii_case(suffix))
}

/// What the file list of one revision tells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FileFacts {
    formats: u16,
    /// A `*.nemo` file: a NeMo model (hub-docs `model-cards.md`).
    pub nemo: bool,
    /// `adapter_config.json` at the root: a PEFT adapter, for the base-model relation.
    pub adapter_config: bool,
    /// `chat_template.jinja` at the root: transformers' chat template, a conversational model.
    pub chat_template: bool,
}

impl FileFacts {
    pub fn scan(paths: &[&str]) -> Self {
        let mut facts = Self::default();
        for path in paths {
            if let Some(format) = Format::of(path) {
                facts.formats |= format.bit();
            }
            facts.nemo |= ends_with_ignore_case(path, ".nemo");
            facts.adapter_config |= *path == "adapter_config.json";
            facts.chat_template |= *path == "chat_template.jinja";
        }
        facts
    }

    pub fn has(&self, format: Format) -> bool {
        self.formats & format.bit() != 0
    }

    /// The formats present, in tag order.
    pub fn formats(&self) -> impl Iterator<Item = Format> + '_ {
        Format::ALL.into_iter().filter(|f| self.has(*f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_tag_order() {
        let paths = [
            "model.safetensors",
            "onnx/decoder_model.onnx",
            "rust_model.ot",
            "tf_model.h5",
            "flax_model.msgpack",
            "pytorch_model.bin",
            "64-8bits.tflite",
            "runs/Jan01/events.out.tfevents.1.host",
            "Model.GGUF",
            "m.mlpackage/Data/weights/weight.bin",
            "README.md",
            "config.json",
        ];
        let facts = FileFacts::scan(&paths);
        let tags: Vec<&str> = facts.formats().map(Format::tag).collect();
        assert_eq!(
            tags,
            [
                "pytorch",
                "tf",
                "jax",
                "tflite",
                "rust",
                "onnx",
                "tensorboard",
                "safetensors",
                "gguf",
                "coreml"
            ]
        );
        assert!(!facts.nemo && !facts.adapter_config && !facts.chat_template);
    }

    #[test]
    fn marker_files() {
        let facts =
            FileFacts::scan(&["sub/model.NEMO", "adapter_config.json", "chat_template.jinja", ".", ""]);
        assert!(facts.nemo && facts.adapter_config && facts.chat_template);
        assert_eq!(facts.formats().count(), 0);
        let nested = FileFacts::scan(&["x/adapter_config.json", "x/chat_template.jinja"]);
        assert!(!nested.adapter_config && !nested.chat_template);
    }
}
