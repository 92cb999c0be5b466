"""Records-stage speed against jieba's keyword extractor, in CPU time on one core (`make bench`).

The pages are cleaned once beforehand, so only `RecordBuilder.build` is timed. The five samples
and the spun dumps are sample-sized articles. The machine may be shared: CPU time, best of
several rounds, both sides measured in the same process.
"""

import time

import jieba
import jieba.analyse
import pytest

from pipeline.bench.spun import generate
from pipeline.clean import clean_page, load_rules
from pipeline.model import Page
from pipeline.records import extract
from pipeline.records.build import RecordBuilder, record_id_for
from pipeline.records.question import question_type, questions_from_title
from tests.conftest import RAW

pytestmark = pytest.mark.slow
ROUNDS = 7


def _best_cpu_seconds(workloads: dict, rounds: int = ROUNDS) -> dict[str, float]:
    """CPU seconds of the fastest round of each workload (fn, items); rounds alternate between
    the workloads, so that a burst of load on the shared machine does not favour one of them."""
    best = dict.fromkeys(workloads, float("inf"))
    for _ in range(rounds):
        for name, (fn, items) in workloads.items():
            started = time.process_time()
            for item in items:
                fn(item)
            best[name] = min(best[name], time.process_time() - started)
    return best


@pytest.fixture(scope="module")
def cleaned_pages():
    rules = load_rules()
    pages = [Page(p.name, p.read_text(encoding="utf-8")) for p in sorted(RAW.glob("*.txt"))]
    pages += [Page(d.name, d.text) for d in generate(seed=0)]
    return [clean_page(page, rules) for page in pages]


def test_records_stage_against_jieba_extract_tags(cleaned_pages):
    builder = RecordBuilder(extract.load_taxonomy())
    articles = [article for page in cleaned_pages for article in page.articles]
    bodies = [article.body for article in articles]
    jieba.setLogLevel(60)
    builder.build(cleaned_pages[0], "bench")  # loads the IDF table, place names and automata
    jieba.analyse.extract_tags(bodies[0], topK=8)  # loads jieba's dictionary

    seconds = _best_cpu_seconds({"records": (lambda page: builder.build(page, "bench"), cleaned_pages),
                                 "jieba": (lambda body: jieba.analyse.extract_tags(body, topK=8), bodies)})
    records_rate, jieba_rate = len(articles) / seconds["records"], len(bodies) / seconds["jieba"]
    chars = sum(len(body) for body in bodies) / len(bodies)
    print(f"\nrecords stage: {records_rate:,.0f} docs/s per core; jieba.analyse.extract_tags: {jieba_rate:,.0f} docs/s; "
          f"{records_rate / jieba_rate:.1f}x ({len(articles)} articles, {chars:.0f} characters on average, CPU time)")

    words = [extract.word_counts(body) for body in bodies]
    questions = [questions_from_title(article.title)[0] for article in articles]
    each = range(len(articles))
    parts = {
        "segmentation": lambda i: extract.word_counts(bodies[i]),
        "keywords": lambda i: extract.keywords(words[i], builder.keyword_count),
        "tags": lambda i: builder.tagger.tags(articles[i].title, bodies[i]),
        "laws": lambda i: extract.laws(bodies[i]),
        "entities": lambda i: extract.entities(bodies[i], words[i]),
        "summary": lambda i: extract.summary(articles[i].lines, questions[i]),
        "questions": lambda i: question_type(questions_from_title(articles[i].title)[0]),
        "flags": lambda i: (extract.mixed_language(bodies[i]), extract.spun_text_suspected(words[i])),
        "record id": lambda i: record_id_for(bodies[i]),
    }
    total = 1e6 / records_rate
    print(f"per document: {total:,.0f} µs in all; parts timed alone (warm caches, so they add up to less):")
    for name, part_seconds in _best_cpu_seconds({name: (part, each) for name, part in parts.items()}).items():
        micros = 1e6 * part_seconds / len(articles)
        print(f"  {name:<13}{micros:7.1f} µs  {micros / total:5.1%}")
