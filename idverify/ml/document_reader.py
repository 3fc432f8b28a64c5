"""Reading a document image into ``DocumentFields``: safe decoding first (size and pixel limits before any
decompression), then OCR. Runs on the inference pool; the images are not kept."""

from __future__ import annotations

from datetime import date

from idverify.domain.errors import InvalidArgument
from idverify.factors.document import CnIdCardText, DocumentFields, DocumentType
from idverify.ml.imaging import decode_image
from idverify.ml.ocr import RapidOcrDocumentReader
from idverify.ml.pool import InferencePool


class OcrDocumentReader:
    def __init__(self, ocr: RapidOcrDocumentReader, pool: InferencePool, *, max_bytes: int, max_pixels: int) -> None:
        self._ocr = ocr
        self._pool = pool
        self._max_bytes = max_bytes
        self._max_pixels = max_pixels

    def read(self, document_type: DocumentType, front: bytes, back: bytes, *, today: date) -> DocumentFields:
        """Raises InvalidArgument (image_empty, image_too_large, image_unsupported, image_corrupt,
        document_no_text, document_unreadable) before or instead of a decision."""
        if not front:
            raise InvalidArgument("document_image_missing", "the front (or data page) image is required")
        front_image = decode_image(front, max_bytes=self._max_bytes, max_pixels=self._max_pixels)
        back_image = decode_image(back, max_bytes=self._max_bytes, max_pixels=self._max_pixels) if back else None
        if document_type is DocumentType.CN_ID_CARD:
            text: CnIdCardText = self._pool.run(self._ocr.read_cn_id_front, front_image.pixels)
            if back_image is not None:
                text = text.merged(self._pool.run(self._ocr.read_cn_id_back, back_image.pixels))
            return DocumentFields(document_type=document_type, cn_id=text)
        lines: tuple[str, ...] = self._pool.run(self._read_mrz, front_image.pixels, today)
        return DocumentFields(document_type=document_type, mrz_lines=lines)

    def _read_mrz(self, pixels: object, today: date) -> tuple[str, ...]:
        return self._ocr.read_mrz(pixels, today=today)  # type: ignore[arg-type]
