"""Pairwise precision/recall of dedup settings on the spun dev set (the README's table).

    python -m tests.spun.measure            # the grid of settings
"""

from __future__ import annotations

import sys

from pipeline.clean import clean_page, load_rules
from pipeline.clean.templates import learn_template_keys
from pipeline.dedup.fold import DedupSettings, Item, band_layout, fold, sign
from pipeline.model import Page
from pipeline.bench.spun import generate, pairwise_scores


def clean_items(docs) -> list[Item]:
    rules = load_rules()
    keys = learn_template_keys(d.text for d in docs)
    items = []
    for doc in docs:
        cleaned = clean_page(Page(doc.name, doc.text), rules, keys)
        body = "\n".join(a.body for a in cleaned.articles)
        items.append(Item(doc.name, doc.name, 0, len(body), body))
    return items


def predicted_clusters(items: list[Item], settings: DedupSettings) -> dict[str, str]:
    signed = sign(items, settings, band_layout(settings))
    folded = fold(signed, settings, None)
    return {path: folded.canonical_source_path[i] or path for i, path in enumerate(signed.source_paths)}


def measure(settings: DedupSettings, seed: int = 0, items=None, docs=None) -> tuple[float, float]:
    docs = docs or generate(seed=seed)
    items = items or clean_items(docs)
    truth = {d.name: d.cluster for d in docs}
    return pairwise_scores(truth, predicted_clusters(items, settings))


def main() -> None:
    docs = generate(seed=0)
    items = clean_items(docs)
    print("| n-gram | num_perm | threshold | precision | recall |")
    print("|---|---|---|---|---|")
    for ngram in (2, 3, 4, 5):
        for num_perm in (64, 128):
            for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
                p, r = measure(DedupSettings(ngram, num_perm, threshold), items=items, docs=docs)
                print(f"| {ngram} | {num_perm} | {threshold} | {p:.3f} | {r:.3f} |")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
