"""`croissant.json`: Croissant 1.0 metadata with the Responsible-AI (RAI) vocabulary, so dataset search
engines and `mlcroissant` read what the release is, how it was collected and under which licenses.

Two record sets: `captions` (the `hf/` Parquet, one record per caption) and `images` (the `images/`
files, with their bytes). Written last, from the samples the other formats exported.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rs_assets.lib.captions.strategies import STRATEGIES

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
CAPTION_FIELDS = {
    "sample_id": "the caption_id; resolves in the warehouse's `lineage` view",
    "image": "image path relative to the release folder",
    "image_id": "sha256 of the image bytes",
    "caption_id": "hash of the caption's inputs and strategy version",
    "strategy": "which captioner wrote the text",
    "caption": "the caption",
    "split": "train, val or test (blocked by geo cell)",
    "source": "the source the image came from",
}
BIASES = [
    "Geographic: images come from the configured sources only; regions they cover are over-represented "
    "and splits are blocked by geo cell, so per-region shares follow the sources, not the globe.",
    "Temporal: partitions are source x year; years a source did not publish are absent.",
    "Captioner: machine captions inherit the language model's and the templates' biases and errors; "
    "the `strategy` field says which captioner wrote each text.",
    "Selection: the filters (size, aspect, blank, text length, remote-sensing relevance) and near-duplicate "
    "clustering keep one canonical image per cluster, favouring higher-priority sources.",
]
PERSONAL_DATA = [
    "Overhead imagery at the sources' ground sampling distance; no faces or personal identifiers are "
    "collected on purpose. Page text and credits may name photographers or agencies (kept in `credits` "
    "for attribution). Coordinates are those the source published."
]


def _license_urls(licenses: dict[str, str | None]) -> list[str]:
    ids = sorted({lic for lic in licenses.values() if lic})
    return [f"https://spdx.org/licenses/{lic.upper() if lic.islower() else lic}.html" for lic in ids] or [
        "https://spdx.org/licenses/NOASSERTION"
    ]


def _field(record_set: str, name: str, doc: str, source: dict[str, Any], dtype: str = "sc:Text") -> dict:
    return {
        "@type": "cr:Field",
        "@id": f"{record_set}/{name}",
        "name": name,
        "description": doc,
        "dataType": dtype,
        "source": source,
    }


def croissant(
    version: str, samples: dict[str, list[dict[str, Any]]], licenses: dict[str, str | None]
) -> dict:
    """The Croissant JSON-LD of a release (pure: samples and licenses in, document out)."""
    rows = [s for split in samples.values() for s in split]
    exts = sorted({s["image_ext"] for s in rows})
    per_source = Counter(s["source"] for s in rows)
    years = sorted({s["year"] for s in rows})
    provenance = "; ".join(
        f"{src}: {n} images, license {licenses.get(src) or 'unknown'}"
        for src, n in sorted(per_source.items())
    )
    captions = [
        _field("captions", name, doc, {"fileSet": {"@id": "hf-parquet"}, "extract": {"column": name}})
        for name, doc in CAPTION_FIELDS.items()
    ]
    images = [
        _field(
            "images",
            "image_id",
            "sha256 of the image bytes (the file name)",
            {
                "fileSet": {"@id": "image-files"},
                "extract": {"fileProperty": "filename"},
                "transform": {"regex": r"^([0-9a-f]{64})\..*$"},
            },
        ),
        _field(
            "images",
            "image",
            "the original image bytes",
            {"fileSet": {"@id": "image-files"}, "extract": {"fileProperty": "content"}},
            "sc:ImageObject",
        ),
    ]
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": f"rs_assets-{version}",
        "description": "Remote-sensing image-text pairs and instruction conversations built by the rs_assets "
        "pipeline (GAIA / RS5M / HQRS-IT / RS-GPT4V methods); see README.md in this folder.",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "version": "1.0.0",
        "url": "https://github.com/rs-assets/rs_assets",
        "license": _license_urls(licenses),
        "keywords": ["remote sensing", "earth observation", "image-text", "vision-language"],
        "rai:dataCollection": "Per source x year partitions: web pages, feeds, labeled datasets or "
        "image-text pairs fetched by the pipeline (robots.txt, noai and per-host pacing honoured), images "
        "stored content-addressed, filtered, clustered into near-duplicates, captioned and split. Provenance "
        f"per source: {provenance or 'no samples'}.",
        "rai:dataCollectionType": ["Web Scraping", "Secondary Data Analysis", "Machine Annotation"],
        "rai:dataCollectionRawData": "Each sample's URL or path, page, fetch time and HTTP status are in the "
        "warehouse's `lineage` view (by `sample_id`) and in `webdataset/*.json`.",
        "rai:dataCollectionTimeframe": [f"{years[0]}-01-01", f"{years[-1]}-12-31"] if years else [],
        "rai:dataPreprocessingProtocol": [
            "Drop reasons and scores per record in the warehouse's `pool_decisions`; one canonical image per "
            "near-duplicate cluster; splits by a hash of the geo cell (else the cluster)."
        ],
        "rai:machineAnnotationTools": [f"{s.name}: {s.description}" for s in STRATEGIES.values()],
        "rai:dataBiases": BIASES,
        "rai:dataLimitations": [
            "Split shares deviate from the 70/20/10 target (whole geo cells move together); see README.md.",
            "Machine captions are not human-verified.",
        ],
        "rai:personalSensitiveInformation": PERSONAL_DATA,
        "rai:dataUseCases": [
            "Vision-language pretraining, instruction tuning and image-text retrieval on "
            "remote-sensing imagery."
        ],
        "distribution": [
            {
                "@type": "cr:FileSet",
                "@id": "hf-parquet",
                "name": "hf-parquet",
                "description": "one row per caption, per split",
                "encodingFormat": "application/x-parquet",
                "includes": "hf/*.parquet",
            },
            {
                "@type": "cr:FileSet",
                "@id": "image-files",
                "name": "image-files",
                "description": "original image bytes, named by their sha256",
                "encodingFormat": sorted({"image/jpeg" if e == "jpg" else f"image/{e}" for e in exts}),
                "includes": [f"images/*.{e}" for e in exts],
            },
        ],
        "recordSet": [
            {"@type": "cr:RecordSet", "@id": "captions", "name": "captions", "field": captions},
            {"@type": "cr:RecordSet", "@id": "images", "name": "images", "field": images},
        ],
    }


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    if not out.options.image_folder:  # both record sets read files of the image folder layout
        return
    doc = croissant(out.version, samples, out.licenses)
    out.put_json("croissant.json", doc, "croissant", None, sum(len(v) for v in samples.values()))
