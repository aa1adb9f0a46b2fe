"""The classifier fits small data, survives save/load, predicts the same batched and
one by one; a tampered or incompatible model is refused."""

import json

import numpy as np
import pytest

from pipeline.core.codebook import Code, Codebook
from pipeline.core.config import config_from_dict
from pipeline.core.errors import ModelError, OutputPathError
from pipeline.core.types import Segment
from pipeline.learn.classify import MultiLabelLogReg, best_thresholds, with_parents
from pipeline.learn.embed import make_embedder
from pipeline.learn.model import Model, load_model, save_model

# A few German segments with their codes: the classifier must fit them.
TRAIN = [
    ("Wir wollten neue Kunden in Frankreich gewinnen.", {"MOT-MARKT"}),
    ("Der Vertrieb in Lyon soll neue Kunden bringen.", {"MOT-MARKT"}),
    ("Ohne Kunden dort lohnt sich das nicht.", {"MOT-MARKT"}),
    ("Die Übersetzungen und Reisen kosten uns viel Geld.", {"HEM-FINANZEN"}),
    ("Das Geld für die Reisen fehlt einfach.", {"HEM-FINANZEN"}),
    ("Wir haben kein Geld für eine Niederlassung.", {"HEM-FINANZEN", "MOT-MARKT"}),
    ("Das Wetter war an dem Tag schön.", set()),
    ("Ich bin seit zehn Jahren im Unternehmen.", set()),
    ("Dann haben wir zu Mittag gegessen.", set()),
]
CODEBOOK = Codebook(
    name="mini",
    codes=(Code("MOT", "Motive"), Code("MOT-MARKT", "Markt", parent="MOT"), Code("HEM", "Hemmnisse"), Code("HEM-FINANZEN", "Finanzen", parent="HEM")),
)


def tiny_model(**classifier) -> Model:
    config = config_from_dict({"embedder": {"name": "tfidf"}, "features": {"lexical": False, "prototypes": 0.0}, "classifier": {"C": 20.0, **classifier}})
    texts = [t for t, _ in TRAIN]
    Y = np.array([[c in codes for c in CODEBOOK.leaf_ids] for _, codes in TRAIN])
    embedder = make_embedder(config.embedder).fit(texts)
    clf = MultiLabelLogReg(C=config.classifier.C).fit(embedder.encode(texts), Y)
    return Model("mini", CODEBOOK, config, embedder, clf, {"training": {"segments": len(TRAIN)}})


def test_overfits_training_data():
    model = tiny_model()
    proba = model.predict_proba([t for t, _ in TRAIN])
    assert proba.shape == (len(TRAIN), 2)
    predicted = [{c for c, p in zip(model.codes, row) if p >= 0.5} for row in proba]
    assert predicted == [codes for _, codes in TRAIN]


def test_save_load_same_predictions_batched_and_single(tmp_path):
    model = tiny_model()
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    texts = [t for t, _ in TRAIN] + ["Neue Kunden und wenig Geld."]
    batched = loaded.predict_proba(texts)
    single = np.vstack([loaded.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(batched, model.predict_proba(texts), rtol=1e-12)
    np.testing.assert_allclose(batched, single, rtol=1e-12)
    assert loaded.fingerprint == model.fingerprint
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib") for p in (tmp_path / "m").iterdir())


def test_code_segments_records_and_parents():
    model = tiny_model()
    segs = [
        Segment("d:0000", "d", 0, 10, "I", "Warum Frankreich?", "interviewer", codable=False),
        Segment("d:0001", "d", 11, 60, "B", "Wir wollten neue Kunden in Frankreich gewinnen.", "respondent"),
    ]
    first, second = model.code_segments(segs)
    assert first["codes"] == [] and first["scores"] == {} and first["codable"] is False
    assert second["codes"] == ["MOT-MARKT"] and second["parent_codes"] == ["MOT"]
    assert set(second["scores"]) == {"MOT-MARKT", "HEM-FINANZEN"}
    assert (second["start"], second["end"], second["speaker"]) == (11, 60, "B")


def test_best_thresholds_maximise_f1():
    Y = np.array([[1], [1], [0], [0], [0]], dtype=bool)
    P = np.array([[0.9], [0.3], [0.25], [0.1], [0.05]])
    (t,) = best_thresholds(Y, P)
    assert 0.25 < t <= 0.3  # only thresholds in (0.25, 0.3] separate the classes
    assert best_thresholds(np.zeros((3, 1), bool), np.zeros((3, 1)))[0] == 0.5


def test_with_parents():
    assert with_parents(["HEM-A", "HEM-B", "MOT-A"], {"HEM-A": "HEM", "HEM-B": "HEM", "MOT-A": "MOT"}) == ["HEM", "MOT"]


def test_constant_columns():
    X = np.random.default_rng(0).normal(size=(6, 3))
    Y = np.array([[0, 1]] * 6, dtype=bool)
    clf = MultiLabelLogReg().fit(X, Y)
    assert (clf.predict(X) == Y).all()


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m"
    save_model(tiny_model(), path)
    return path


def test_tampered_weights_refused(saved):
    data = bytearray((saved / "weights.npz").read_bytes())
    data[-10] ^= 0xFF
    (saved / "weights.npz").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the checksum"):
        load_model(saved)


def test_changed_codebook_refused(saved):
    text = (saved / "codebook.yaml").read_text(encoding="utf-8").replace("HEM-FINANZEN", "HEM-KOSTEN")
    (saved / "codebook.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match="not the code system this model was trained for"):
        load_model(saved)


def test_changed_embedder_refused(saved):
    text = (saved / "config.yaml").read_text(encoding="utf-8").replace("name: tfidf", "name: use-multilingual")
    (saved / "config.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match="trained with embedder"):
        load_model(saved)


def rewrite_weights(saved, change):
    """Change the arrays of a saved model and re-sign them, as a careful forger would."""
    import hashlib
    import io

    with np.load(saved / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (saved / "weights.npz").write_bytes(buf.getvalue())
    meta = json.loads((saved / "model.json").read_text())
    meta["weights"]["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    (saved / "model.json").write_text(json.dumps(meta))


def test_wrong_shape_refused(saved):
    rewrite_weights(saved, lambda arrays: arrays.update(coef=arrays["coef"][:, :-1]))
    with pytest.raises(ModelError, match="array 'coef' has shape"):
        load_model(saved)


def test_pickled_array_refused(saved):
    rewrite_weights(saved, lambda arrays: arrays.update(coef=np.array([object()], dtype=object)))
    with pytest.raises(ModelError, match="without executing code"):
        load_model(saved)


def test_embedder_version_mismatch_refused(saved):
    meta = json.loads((saved / "model.json").read_text())
    meta["embedder"]["identity"]["version"] = "0.1"
    (saved / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="installed is"):
        load_model(saved)


def test_save_refuses_foreign_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("meine Notizen", encoding="utf-8")
    with pytest.raises(OutputPathError, match="refusing to overwrite"):
        save_model(tiny_model(), tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "meine Notizen"
