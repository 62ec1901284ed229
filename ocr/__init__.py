"""Page text: a PDF's own text layer when it has one, otherwise clean-up and OCR."""
