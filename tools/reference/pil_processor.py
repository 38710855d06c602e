"""The reference processor of a saved Idefics3 checkpoint: Idefics3Processor with Pillow's backend.

What `AutoProcessor.from_pretrained(folder, backend="pil")` returns, built from its parts: the
Pillow image processor from preprocessor_config.json, the tokenizer, image_seq_len from
processor_config.json and the chat template (chat_template.jinja, or chat_template.json's
"chat_template"). Built by hand because transformers 5.17.0 lists Idefics3ImageProcessorPil among
the classes that need torchvision, so that AutoProcessor refuses it where torchvision is not
installed (as here), although the class imports and runs without it. The fixtures that 5.18.0's
AutoProcessor made come out byte-identical through this function under 5.17.0
(tools/reference/README.md).
"""

import json
from pathlib import Path

from transformers import AutoTokenizer, Idefics3Processor
from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil


def load_pil_processor(folder) -> Idefics3Processor:
    folder = Path(folder)
    image_processor = Idefics3ImageProcessorPil.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    settings = json.loads((folder / "processor_config.json").read_text(encoding="utf-8"))
    jinja = folder / "chat_template.jinja"
    if jinja.exists():
        chat_template = jinja.read_text(encoding="utf-8")
    else:
        chat_template = json.loads((folder / "chat_template.json").read_text(encoding="utf-8"))["chat_template"]
    return Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=settings["image_seq_len"],
        chat_template=chat_template,
    )
