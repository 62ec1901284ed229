"""Synthetic Vietnamese public-administration documents for testing OCR and field extraction.

    people.random_person(rng) -> Person: consistent id, dates, names, places
    render.render_document(template, person, rng) -> RenderedDoc: image, doc_type, variant,
        fields (expected, per the contract), text (printed lines)
    degrade.degrade(img, level, rng, rotation) -> the scanned / photographed look
    corpus.generate_corpus(out_dir, ...) -> files + truth.jsonl in the samples' schema
    python -m sohoa.synth OUT_DIR ... -> the same from the command line

Templates are listed in `render.TEMPLATES`; expected fields follow
/work/shared/spec/document-types.md.
"""
