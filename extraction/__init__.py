"""Field extraction: which paper an OCR'd text is, and its fields in the contract's normal form.

Public API (the pipeline imports these):
    extraction.classify.classify(text) -> (DocType, score)
    extraction.extract.extract(pages) -> Extraction        # pages of ONE document
    extraction.split.split_dossier(pages) -> list[list[PageText]]
    extraction.normalize: norm_date, norm_name, norm_sex, norm_id, norm_money, norm_address, fold
    extraction.mrz.parse(lines) -> Mrz | None               # ICAO 9303 TD1
    extraction.checks: id structure, agreement with the id, tax-code and MRZ check digits
    extraction.testing.page_from_text(text) -> PageText     # for tests

One parser a doc type lives in extraction.parsers, built on extraction.labels (fuzzy label
finding) and extraction.fields (values with confidence, checks, review flag).
"""
