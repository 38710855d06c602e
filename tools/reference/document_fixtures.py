#!/usr/bin/env python3
"""Small PDFs and TIFFs for the Java document-page code, and pdfium's renderings of them.

Writes, deterministically (rerun it and the files come out byte-identical), into
model-loader/src/test/resources/document/:

sample.pdf              4 pages, each one rendering feature: 1 base-14 text (Helvetica, Times, Courier) and
                        vector shapes (filled and stroked paths, a Bezier curve, a dashed line); 2 an
                        embedded JPEG (DCTDecode image XObject made with Pillow), scaled and placed twice;
                        3 /Rotate 90 (text and an arrow); 4 a /CropBox inside a larger /MediaBox.
sample-p{1..4}.png      pypdfium2's rendering of each page at 144 DPI (scale 2), RGB: the reference the
                        Java renderer is compared with (mean absolute difference, PdfParityTest).
three-pages.pdf         3 small pages, "Page 1" .. "Page 3" (the job test's document).
twenty-pages.pdf        20 US-letter pages of a made-up report (the document benchmark's input,
                        tools/bench/documents.sh): a title, paragraphs of base-14 text, a footer, and in turn
                        a bar chart of vector shapes, a ruled table of numbers or a photo-sized JPEG (one
                        image XObject shared by its pages); the words come from a fixed list, chosen by sha256.
encrypted.pdf           one page, encrypted with the standard security handler (RC4 40-bit, revision 2),
                        user password "secret": it does not open without it.
damaged.pdf             a PDF header followed by bytes that are no PDF objects.
empty.pdf               a well-formed PDF whose page tree holds no page.
two-frames.tiff         2 frames, 40 x 30 red-ish and 24 x 36 blue-ish, uncompressed RGB.
corrupt-frame.tiff      2 frames; the second's strip offset points past the end of the file.

Usage: /work/venv/bin/python tools/reference/document_fixtures.py   (pypdfium2 5.13.0, Pillow 12.3.0)
"""

import hashlib
import io
import struct
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

OUT = Path(__file__).resolve().parents[2] / "model-loader" / "src" / "test" / "resources" / "document"
DPI = 144


def pdf(objects, trailer_extra=b""):
    """A PDF file of numbered objects (object i+1 is objects[i], bytes without obj/endobj), catalog 1."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1) + trailer_extra + b">>\n")
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def stream(content, extra=b""):
    return b"<< /Length %d " % len(content) + extra + b">>\nstream\n" + content + b"\nendstream"


FONTS = b"<< /Font << /F1 4 0 R /F2 5 0 R /F3 6 0 R >> /XObject << /Im1 7 0 R >> >>"


def sample_pdf():
    # 1 catalog, 2 pages, 3 resources, 4-6 fonts, 7 JPEG, then page i at 8 + 2i, its content at 9 + 2i
    jpeg_pixels = np.zeros((48, 64, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:48, 0:64]
    jpeg_pixels[..., 0] = (xx * 4) % 256
    jpeg_pixels[..., 1] = (yy * 5) % 256
    jpeg_pixels[..., 2] = ((xx + yy) * 3) % 256
    buffer = io.BytesIO()
    Image.fromarray(jpeg_pixels).save(buffer, format="JPEG", quality=90, subsampling=0)
    jpeg = buffer.getvalue()

    text_page = (
        b"0.9 0.95 1 rg 10 10 180 130 re f\n"
        b"BT /F1 18 Tf 0 0 0 rg 16 112 Td (Hello, PDF) Tj ET\n"
        b"BT /F2 12 Tf 0.6 0 0 rg 16 92 Td (Times Roman 123) Tj ET\n"
        b"BT /F3 10 Tf 0 0 0.6 rg 16 76 Td (Courier: fixed) Tj ET\n"
        b"0 0.5 0 rg 20 20 50 40 re f\n"
        b"0.2 0.2 0.2 RG 3 w 90 20 m 120 70 150 0 180 50 c S\n"
        b"1 0.5 0 rg 1 0 0 RG 1.5 w 150 110 m 180 110 l 165 135 l h B\n"
        b"[4 2] 0 d 0 0 1 RG 1 w 16 66 m 120 66 l S\n"
    )
    image_page = (
        b"1 1 0.9 rg 0 0 200 150 re f\n"
        b"q 96 0 0 72 10 60 cm /Im1 Do Q\n"
        b"q 64 0 0 48 120 20 cm /Im1 Do Q\n"
        b"BT /F1 10 Tf 0 0 0 rg 10 40 Td (JPEG) Tj ET\n"
    )
    rotated_page = (
        b"BT /F1 16 Tf 0 0 0 rg 12 110 Td (Rotated 90) Tj ET\n"
        b"0 0 0.8 rg 20 40 m 140 40 l 140 25 l 180 55 l 140 85 l 140 70 l 20 70 l h f\n"
    )
    crop_page = (
        b"0.8 0 0 rg 0 0 300 200 re f\n"
        b"1 1 1 rg 50 40 200 120 re f\n"
        b"BT /F1 14 Tf 0 0 0 rg 60 130 Td (Inside the CropBox) Tj ET\n"
        b"0 0.6 0 rg 70 60 60 40 re f\n"
    )
    pages = [
        (text_page, b"/MediaBox [0 0 200 150]"),
        (image_page, b"/MediaBox [0 0 200 150]"),
        (rotated_page, b"/MediaBox [0 0 200 150] /Rotate 90"),
        (crop_page, b"/MediaBox [0 0 300 200] /CropBox [50 40 250 160]"),
    ]
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count %d /Kids [%s] >>"
        % (len(pages), b" ".join(b"%d 0 R" % (8 + 2 * i) for i in range(len(pages)))),
        FONTS,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
        stream(
            jpeg,
            b"/Type /XObject /Subtype /Image /Width 64 /Height 48 /ColorSpace /DeviceRGB"
            b" /BitsPerComponent 8 /Filter /DCTDecode ",
        ),
    ]
    for i, (content, boxes) in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /Resources 3 0 R " + boxes + b" /Contents %d 0 R >>" % (9 + 2 * i)
        )
        objects.append(stream(content))
    return pdf(objects)

WORDS = (
    b"the of and to in a is that for on with as by at from this be are which an or it was not have has"
    b" page report table figure model image document result value data total mean sample row column"
    b" section summary method input output batch spark task executor render pixel text line scan"
).split()


def sentence_words(seed, count):
    """count words of WORDS chosen by sha256(seed, i): the same every run."""
    return [WORDS[hashlib.sha256(seed + b"/%d" % i).digest()[0] % len(WORDS)] for i in range(count)]


def twenty_pages_pdf():
    # 1 catalog, 2 pages, 3 resources, 4-6 fonts, 7 JPEG, then page i at 8 + 2i, its content at 9 + 2i
    height, width = 240, 320
    yy, xx = np.mgrid[0:height, 0:width]
    photo = np.zeros((height, width, 3), dtype=np.uint8)
    photo[..., 0] = (120 + 100 * np.sin(xx / 23.0) * np.cos(yy / 31.0)).astype(np.uint8)
    photo[..., 1] = ((xx * yy) // 97 % 256).astype(np.uint8)
    photo[..., 2] = (200 - yy * 160 // height).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG", quality=80)
    jpeg = buffer.getvalue()

    count = 20
    pages = []
    for n in range(1, count + 1):
        seed = b"twenty-pages/%d" % n
        content = bytearray()
        title = b" ".join(sentence_words(seed + b"/title", 4)).capitalize()
        content += b"BT /F1 20 Tf 0 0 0 rg 72 720 Td (%d. %s) Tj ET\n" % (n, title)
        content += b"0.3 0.3 0.3 RG 1 w 72 708 m 540 708 l S\n"
        y = 684
        lines = 22 if n % 3 else 14
        for line in range(lines):
            words = b" ".join(sentence_words(seed + b"/line/%d" % line, 12))
            content += b"BT /F2 11 Tf 0 0 0 rg 72 %d Td (%s) Tj ET\n" % (y, words)
            y -= 14
        kind = n % 3
        if kind == 0:  # a bar chart: axes, filled bars, labels
            content += b"0 0 0 RG 1 w 90 90 m 90 260 l 90 90 m 520 90 l S\n"
            for bar in range(8):
                value = 20 + hashlib.sha256(seed + b"/bar/%d" % bar).digest()[0] % 150
                shade = b"%.2f %.2f 0.8 rg" % (0.1 * bar % 1, 0.4 + 0.05 * bar)
                content += shade + b" %d 90 36 %d re f\n" % (104 + 52 * bar, value)
                content += b"BT /F3 9 Tf 0 0 0 rg %d 76 Td (Q%d) Tj ET\n" % (112 + 52 * bar, bar + 1)
        elif kind == 1:  # a ruled table of numbers
            top = 360
            for row in range(8):
                for column in range(5):
                    number = int.from_bytes(hashlib.sha256(seed + b"/cell/%d/%d" % (row, column)).digest()[:2], "big")
                    text = b"%d.%02d" % (number // 100, number % 100)
                    content += b"BT /F3 10 Tf 0 0 0 rg %d %d Td (%s) Tj ET\n" % (80 + 92 * column, top - 20 * row - 14, text)
            content += b"0.5 0.5 0.5 RG 0.5 w\n"
            for row in range(9):
                content += b"72 %d m 532 %d l S\n" % (top - 20 * row, top - 20 * row)
            for column in range(6):
                content += b"%d %d m %d %d l S\n" % (72 + 92 * column, top, 72 + 92 * column, top - 160)
        else:  # the photo, with a caption
            content += b"q 320 0 0 240 146 90 cm /Im1 Do Q\n"
            content += b"BT /F2 10 Tf 0 0 0 rg 146 76 Td (Figure %d: a photo.) Tj ET\n" % n
        content += b"BT /F1 9 Tf 0.4 0.4 0.4 rg 280 40 Td (Page %d of %d) Tj ET\n" % (n, count)
        pages.append(bytes(content))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count %d /Kids [%s] >>"
        % (count, b" ".join(b"%d 0 R" % (8 + 2 * i) for i in range(count))),
        FONTS,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
        stream(
            jpeg,
            b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB"
            b" /BitsPerComponent 8 /Filter /DCTDecode " % (width, height),
        ),
    ]
    for i, content in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /Resources 3 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>"
            % (9 + 2 * i)
        )
        objects.append(stream(content))
    return pdf(objects)


def three_pages_pdf():
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count 3 /Kids [4 0 R 6 0 R 8 0 R] >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for n in range(1, 4):
        content = b"BT /F1 20 Tf 0 0 0 rg 12 30 Td (Page %d) Tj ET\n0.2 0.4 0.8 rg 100 10 %d 50 re f\n" % (
            n,
            10 * n,
        )
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >>"
            b" /MediaBox [0 0 160 80] /Contents %d 0 R >>" % (5 + 2 * (n - 1))
        )
        objects.append(stream(content))
    return pdf(objects)


def rc4(key, data):
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


PAD = bytes.fromhex("28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a")


def encrypted_pdf():
    """PDF 1.7 spec 7.6.3.3-7.6.3.4, revision 2: algorithms 3 (/O), 2 (file key) and 4 (/U)."""
    user, owner = b"secret", b"owner-secret"
    permissions = -4
    file_id = hashlib.md5(b"idefics3-spark encrypted fixture").digest()
    owner_key = hashlib.md5((owner + PAD)[:32]).digest()[:5]
    o_entry = rc4(owner_key, (user + PAD)[:32])
    key = hashlib.md5((user + PAD)[:32] + o_entry + struct.pack("<i", permissions) + file_id).digest()[:5]
    u_entry = rc4(key, PAD)

    def object_key(number):
        return hashlib.md5(key + struct.pack("<i", number)[:3] + b"\x00\x00").digest()[:10]

    content = b"BT /F1 20 Tf 0 0 0 rg 12 30 Td (Secret page) Tj ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
        b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >>"
        b" /MediaBox [0 0 160 80] /Contents 4 0 R >>",
        stream(rc4(object_key(4), content)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
        % (o_entry.hex().encode(), u_entry.hex().encode(), permissions),
    ]
    return pdf(objects, b"/Encrypt 6 0 R /ID [<%s> <%s>] " % (file_id.hex().encode(), file_id.hex().encode()))


def damaged_pdf():
    noise = hashlib.sha256(b"damaged").digest() * 16
    return b"%PDF-1.4\n" + noise + b"\nthis is not a PDF object\n"


def empty_pdf():
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Count 0 /Kids [] >>"])


def tiff(frames, bad_offset_frame=None):
    """A little-endian baseline TIFF, uncompressed 8-bit RGB, one strip per frame, frames in order;
    the strip of frame bad_offset_frame (0-based) is said to lie past the end of the file."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    first_ifd_at = 4
    previous_next = first_ifd_at
    for index, pixels in enumerate(frames):
        height, width, _ = pixels.shape
        data = pixels.astype(np.uint8).tobytes()
        strip_at = len(out)
        out += data
        if len(out) % 2:
            out += b"\x00"
        bits_at = len(out)
        out += struct.pack("<HHH", 8, 8, 8)
        ifd_at = len(out)
        struct.pack_into("<I", out, previous_next, ifd_at)
        offset = strip_at if index != bad_offset_frame else 10_000_000
        tags = [
            (256, 3, 1, width),  # ImageWidth
            (257, 3, 1, height),  # ImageLength
            (258, 3, 3, bits_at),  # BitsPerSample 8,8,8
            (259, 3, 1, 1),  # Compression none
            (262, 3, 1, 2),  # Photometric RGB
            (273, 4, 1, offset),  # StripOffsets
            (277, 3, 1, 3),  # SamplesPerPixel
            (278, 3, 1, height),  # RowsPerStrip
            (279, 4, 1, len(data)),  # StripByteCounts
            (284, 3, 1, 1),  # PlanarConfiguration chunky
        ]
        out += struct.pack("<H", len(tags))
        for tag, kind, count, value in tags:
            if kind == 3 and count == 1:
                out += struct.pack("<HHIHH", tag, kind, count, value, 0)
            else:
                out += struct.pack("<HHII", tag, kind, count, value)
        previous_next = len(out)
        out += struct.pack("<I", 0)
    return bytes(out)


def frame(width, height, base):
    yy, xx = np.mgrid[0:height, 0:width]
    pixels = np.zeros((height, width, 3), dtype=np.int32)
    pixels[..., 0] = base[0] + xx * 3
    pixels[..., 1] = base[1] + yy * 2
    pixels[..., 2] = base[2] + (xx ^ yy)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def render_reference(path, stem):
    document = pdfium.PdfDocument(str(path))
    try:
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=DPI / 72)
            image = bitmap.to_pil().convert("RGB")
            image.save(OUT / f"{stem}-p{index + 1}.png", optimize=True)
            page.close()
    finally:
        document.close()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    files = {
        "sample.pdf": sample_pdf(),
        "three-pages.pdf": three_pages_pdf(),
        "twenty-pages.pdf": twenty_pages_pdf(),
        "encrypted.pdf": encrypted_pdf(),
        "damaged.pdf": damaged_pdf(),
        "empty.pdf": empty_pdf(),
        "two-frames.tiff": tiff([frame(40, 30, (200, 40, 20)), frame(24, 36, (20, 60, 200))]),
        "corrupt-frame.tiff": tiff([frame(40, 30, (200, 40, 20)), frame(24, 36, (20, 60, 200))], 1),
    }
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    render_reference(OUT / "sample.pdf", "sample")
    # the encrypted file opens with its password, so it is a real encrypted PDF, not a broken one
    secret = pdfium.PdfDocument(str(OUT / "encrypted.pdf"), password="secret")
    assert len(secret) == 1
    secret.close()
    twenty = pdfium.PdfDocument(str(OUT / "twenty-pages.pdf"))
    assert len(twenty) == 20
    twenty.close()
    for name in sorted(p.name for p in OUT.iterdir()):
        print(f"{name:22s} {(OUT / name).stat().st_size:7d} bytes")


if __name__ == "__main__":
    main()
