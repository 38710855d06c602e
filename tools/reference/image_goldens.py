#!/usr/bin/env python3
"""Goldens for the Java image code that the shared reference fixtures do not cover.

Writes, deterministically (rerun it and the files come out byte-identical), into
model-loader/src/test/resources/image/:

resize.json                 Pillow's Image.resize(LANCZOS) of made RGB inputs to many sizes: per case
                            the input (width, height, seed: pixels from the formula in pattern()), the
                            output size and the sha256 of Pillow's uint8 output (H x W x 3, C order).
decoder/                    small encoded images, one per decoder corner case: all 8 EXIF orientations,
                            EXIF in PNG / WebP / TIFF, gray / palette / alpha / tRNS variants, 16 bit,
                            CMYK, GIF (with a frame off the canvas origin), BMP, WebP, TIFF.
decoder.json                per image: Pillow's mode, the displayed size and the sha256 of Pillow's RGB
                            (ImageOps.exif_transpose, then transformers' Idefics convert_to_rgb).
decoder.safetensors.gz      the same RGB arrays (uint8 H x W x 3), to measure where decoders differ.

Usage: /work/venv-ref/bin/python tools/reference/image_goldens.py   (Pillow 12.3, transformers 5.18)
"""

import gzip
import hashlib
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageCms, ImageOps
from safetensors.numpy import save as safetensors_save
from transformers.models.idefics2.image_processing_pil_idefics2 import convert_to_rgb

OUT = Path(__file__).resolve().parents[2] / "model-loader" / "src" / "test" / "resources" / "image"


def pattern(width, height, seed):
    """RGB uint8 (height, width, 3): hashed noise on a checkerboard of 5 x 3 cells, black / white bars
    on the other cells (hard edges: LANCZOS overshoot and clamping). Java computes the same formula."""
    y, x, c = np.meshgrid(
        np.arange(height, dtype=np.uint32), np.arange(width, dtype=np.uint32), np.arange(3, dtype=np.uint32),
        indexing="ij",
    )
    with np.errstate(over="ignore"):
        v = x * np.uint32(2654435761) + y * np.uint32(40503) + c * np.uint32(97) + np.uint32(seed) * np.uint32(1013904223)
        v ^= v >> np.uint32(15)
        v = v * np.uint32(2246822519)
        v ^= v >> np.uint32(13)
    noise = (v >> np.uint32(24)).astype(np.uint8)
    bars = np.where((x // 4 + y // 6) % 2 == 0, 0, 255).astype(np.uint8)
    return np.where((x // 5 + y // 3) % 2 == 0, noise, bars).astype(np.uint8)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def resize_cases():
    sources = [(1, 1), (1, 7), (7, 1), (2, 3), (13, 9), (64, 48), (300, 200), (1, 500), (500, 1), (3, 400), (5, 700),
               (10, 1200), (433, 1111)]
    targets = [(1, 1), (1, 9), (9, 1), (2, 2), (17, 11), (56, 56), (364, 364), (64, 48), (48, 64), (1000, 3), (3, 1000)]
    cases = []
    for index, (w, h) in enumerate(sources):
        sizes = list(targets)
        sizes += [(w, max(1, h // 3)), (max(1, w // 3), h), (w * 2 + 1, h), (w, h * 2 + 1), (w + 1, h - 1 or 1)]
        sizes += [(w, h)]
        for tw, th in sizes:
            cases.append((w, h, index + 1, tw, th))
    cases.append((1856, 1620, 99, 2048, 1788))  # a 1856 x 1620 page to SmolVLM's 2048 side
    cases.append((1856, 1620, 99, 364, 364))
    out = []
    for w, h, seed, tw, th in cases:
        image = Image.fromarray(pattern(w, h, seed), "RGB")
        resized = np.asarray(image.resize((tw, th), Image.Resampling.LANCZOS))
        out.append({"width": w, "height": h, "seed": seed, "to_width": tw, "to_height": th,
                    "sha256": sha256(resized.tobytes())})
    return out


def encode(image, fmt, **params):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def with_orientation(image, orientation):
    exif = image.getexif()
    exif[0x0112] = orientation
    return exif


def png_16bit(pixels16, colour_type):
    """A 16-bit PNG (Pillow cannot write RGB, RGBA or LA at 16 bits)."""
    height, width = pixels16.shape[:2]
    raw = b"".join(b"\x00" + pixels16[row].astype(">u2").tobytes() for row in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def gif_with_offset():
    """A GIF whose 5 x 4 first frame sits at (2, 3) of a 10 x 8 screen (Pillow fills the rest with index 0)."""
    palette = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0])
    clear, end, size = 4, 5, 3  # min code size 2: a clear code before every index keeps codes 3 bits wide
    codes = []
    for y in range(4):
        for x in range(5):
            codes += [clear, 2 + (x + y) % 2]
    codes.append(end)
    acc, bits, data = 0, 0, bytearray()
    for code in codes:
        acc |= code << bits
        bits += size
        while bits >= 8:
            data.append(acc & 255)
            acc >>= 8
            bits -= 8
    if bits:
        data.append(acc & 255)
    blocks = bytes([len(data)]) + bytes(data) + b"\x00"
    return (b"GIF89a" + struct.pack("<HHBBB", 10, 8, 0x81, 1, 0) + palette + b","
            + struct.pack("<HHHHB", 2, 3, 5, 4, 0) + bytes([2]) + blocks + b";")


def made_images():
    rng = np.random.RandomState(20240917)
    h, w = 9, 14  # not square, so that orientations 5 to 8 show
    y, x = np.mgrid[0:h, 0:w]
    rgb = pattern(w, h, 7)
    rgb[..., 0] = (x * 255 // (w - 1)).astype(np.uint8)  # a gradient channel: orientation is visible
    alpha = ((x * 37 + y * 11) % 256).astype(np.uint8)
    alpha[0, 0], alpha[0, 1] = 0, 255
    gray = rgb[..., 1]
    big = np.asarray(Image.fromarray(pattern(48, 40, 3), "RGB").resize((64, 48), Image.Resampling.BILINEAR))
    im = Image.fromarray(rgb, "RGB")
    images = {}
    for orientation in range(1, 9):
        images[f"orientation{orientation}.jpg"] = encode(im, "JPEG", quality=95, exif=with_orientation(im, orientation))
    images["orientation5.png"] = encode(im, "PNG", exif=with_orientation(im, 5))
    images["orientation7.webp"] = encode(im, "WEBP", lossless=True, exif=with_orientation(im, 7))
    images["orientation3.tiff"] = encode(im, "TIFF", exif=with_orientation(im, 3))
    images["gray.png"] = encode(Image.fromarray(gray, "L"), "PNG")
    images["gray_trns.png"] = encode(Image.fromarray(gray, "L"), "PNG", transparency=int(gray[2, 3]))
    images["gray_alpha.png"] = encode(Image.fromarray(np.dstack([gray, alpha]), "LA"), "PNG")
    images["rgb_trns.png"] = encode(im, "PNG", transparency=tuple(int(v) for v in rgb[1, 1]))
    images["rgba.png"] = encode(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), "PNG")
    images["palette.png"] = encode(im.quantize(16, dither=Image.Dither.NONE), "PNG")
    images["palette_alpha.png"] = encode(
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").quantize(32, method=Image.Quantize.FASTOCTREE), "PNG")
    images["bilevel.png"] = encode(Image.fromarray(gray, "L").convert("1"), "PNG")
    images["icc_srgb.png"] = encode(im, "PNG", icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    images["gray16.png"] = encode(Image.fromarray((x * 4000 + y * 900).astype(np.uint16)), "PNG")
    images["rgb16.png"] = png_16bit(rng.randint(0, 65536, (h, w, 3)).astype(np.uint16), 2)
    images["rgba16.png"] = png_16bit(rng.randint(0, 65536, (h, w, 4)).astype(np.uint16), 6)
    images["gray_alpha16.png"] = png_16bit(rng.randint(0, 65536, (h, w, 2)).astype(np.uint16), 4)
    bigim = Image.fromarray(big, "RGB")
    images["baseline420.jpg"] = encode(bigim, "JPEG", quality=90)
    images["sampling422.jpg"] = encode(bigim, "JPEG", quality=90, subsampling=1)
    images["sampling444.jpg"] = encode(bigim, "JPEG", quality=90, subsampling=0)
    images["progressive.jpg"] = encode(bigim, "JPEG", quality=85, progressive=True)
    images["gray.jpg"] = encode(bigim.convert("L"), "JPEG", quality=90)
    images["icc_srgb.jpg"] = encode(
        bigim, "JPEG", quality=90, icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    cmyk = np.stack([x * 18 % 256, y * 28 % 256, (x + y) * 9 % 256, (x * y * 5) % 256], -1).astype(np.uint8)
    images["cmyk.jpg"] = encode(Image.fromarray(cmyk, "CMYK"), "JPEG", quality=95)
    images["palette.gif"] = encode(im.quantize(32, dither=Image.Dither.NONE), "GIF")
    images["transparent.gif"] = encode(im.quantize(32, dither=Image.Dither.NONE), "GIF", transparency=2)
    images["offset_frame.gif"] = gif_with_offset()
    images["rgb.bmp"] = encode(im, "BMP")
    images["palette.bmp"] = encode(im.quantize(16, dither=Image.Dither.NONE), "BMP")
    images["gray.bmp"] = encode(Image.fromarray(gray, "L"), "BMP")
    images["rgba32.bmp"] = encode(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), "BMP")
    images["lossless.webp"] = encode(im, "WEBP", lossless=True)
    images["rgba_lossless.webp"] = encode(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), "WEBP", lossless=True)
    images["lossy.webp"] = encode(bigim, "WEBP", quality=80)
    images["rgb.tiff"] = encode(im, "TIFF")
    images["lzw.tiff"] = encode(im, "TIFF", compression="tiff_lzw")
    images["rgba.tiff"] = encode(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), "TIFF")
    images["gray.tiff"] = encode(Image.fromarray(gray, "L"), "TIFF")
    return dict(sorted(images.items()))


def decode_rgb(data):
    """The project's policy, as tools/reference/generate.py: exif_transpose, then Idefics convert_to_rgb."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    image.load()
    rgb = convert_to_rgb(image)
    assert rgb.mode == "RGB"
    return rgb


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "resize.json").write_text(json.dumps({"pillow": PIL.__version__, "cases": resize_cases()}, indent=1) + "\n")
    decoder = OUT / "decoder"
    decoder.mkdir(exist_ok=True)
    records, arrays = [], {}
    for name, data in made_images().items():
        (decoder / name).write_bytes(data)
        mode = Image.open(io.BytesIO(data)).mode
        rgb = np.asarray(decode_rgb(data))
        arrays[name] = np.ascontiguousarray(rgb)
        records.append({"name": name, "pillow_mode": mode, "width": rgb.shape[1], "height": rgb.shape[0],
                        "sha256": sha256(rgb.tobytes())})
    (OUT / "decoder.json").write_text(json.dumps({"pillow": PIL.__version__, "images": records}, indent=1) + "\n")
    with open(OUT / "decoder.safetensors.gz", "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(safetensors_save(dict(sorted(arrays.items()))))


if __name__ == "__main__":
    main()
