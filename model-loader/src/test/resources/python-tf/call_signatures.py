"""Loads an idefics3-spark package with Python TensorFlow and calls its signatures by name.

usage: python call_signatures.py PACKAGE_DIR INPUTS_JSON OUTPUT_JSON

INPUTS_JSON holds pixel_values (flat), frames, input_ids, attention_mask and the generate
settings; OUTPUT_JSON receives image_features (flat), tokens and lengths, so the Java test can
compare them with its own results. Needs tensorflow-cpu (2.21 was checked).
"""
import json
import sys

import numpy as np
import tensorflow as tf

package, inputs_path, output_path = sys.argv[1:4]
inputs = json.load(open(inputs_path))
model = tf.saved_model.load(package)

encode = model.signatures["encode_images"]
side = encode.structured_input_signature[1]["pixel_values"].shape[-1]
frames = inputs["frames"]
pixels = np.array(inputs["pixel_values"], np.float32).reshape(frames, 3, side, side)
features = encode(pixel_values=pixels, pixel_attention_mask=np.ones((frames, side, side), bool))["image_features"]

out = model.signatures["generate"](
    input_ids=np.array(inputs["input_ids"], np.int32),
    attention_mask=np.array(inputs["attention_mask"], np.int32),
    image_features=features,
    max_new_tokens=np.int32(inputs["max_new_tokens"]),
    eos_token_ids=np.array(inputs["eos_token_ids"], np.int32).reshape(-1),
    pad_token_id=np.int32(inputs["pad_token_id"]),
    do_sample=np.bool_(False),
    temperature=np.float32(1.0),
    top_k=np.int32(0),
    top_p=np.float32(1.0),
    seed=np.array([0, 0], np.int64),
)
json.dump(
    {
        "tensorflow": tf.__version__,
        "signatures": sorted(model.signatures.keys()),
        "image_features": features.numpy().reshape(-1).tolist(),
        "tokens": out["tokens"].numpy().tolist(),
        "lengths": out["lengths"].numpy().tolist(),
    },
    open(output_path, "w"),
)
