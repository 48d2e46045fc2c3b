"""LogisticRegressionCV against scikit-learn 1.9's (use_legacy_attributes=False)."""

import warnings

import numpy as np
import pytest
from sklearn import linear_model as sk
from sklearn.datasets import make_classification

from numlearn.linear_model import LogisticRegressionCV


def _binary(n=200, seed=0):
    return make_classification(n, 8, n_informative=4, random_state=seed)


def _three(n=150, seed=0):
    return make_classification(n, 8, n_informative=5, n_classes=3, random_state=seed)


def _sk(**kw):
    kw.setdefault("l1_ratios", (0.0,))
    kw.setdefault("scoring", None)
    return sk.LogisticRegressionCV(use_legacy_attributes=False, tol=1e-10, max_iter=10_000,
                                   **kw)


def _ours(**kw):
    return LogisticRegressionCV(tol=1e-10, max_iter=10_000, **kw)


def _compare(ours, ref, path_atol=1e-5):
    assert ours.C_ == ref.C_ and ours.l1_ratio_ == ref.l1_ratio_
    np.testing.assert_array_equal(ours.Cs_, ref.Cs_)
    assert ours.scores_.shape == ref.scores_.shape
    assert ours.coefs_paths_.shape == ref.coefs_paths_.shape
    assert ours.n_iter_.shape == ref.n_iter_.shape
    np.testing.assert_allclose(ours.scores_, ref.scores_, atol=1e-6)
    np.testing.assert_allclose(ours.coefs_paths_, ref.coefs_paths_, atol=path_atol)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-5)


@pytest.mark.parametrize("scoring", [None, "neg_log_loss"])
def test_binary_matches_sklearn(scoring):
    X, y = _binary()
    X0 = X.copy()
    ref = _sk(Cs=[0.003, 0.03, 0.3, 3.0], cv=4, scoring=scoring).fit(X, y)
    ours = _ours(Cs=[0.003, 0.03, 0.3, 3.0], cv=4, scoring=scoring).fit(X, y)
    _compare(ours, ref)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_multiclass_weighted_matches_sklearn():
    X, y = _three()
    sw = np.random.default_rng(0).uniform(0.2, 2.0, X.shape[0])
    ref = _sk(Cs=[0.01, 0.1, 1.0], cv=3, scoring="neg_log_loss",
              class_weight="balanced").fit(X, y, sample_weight=sw)
    ours = _ours(Cs=[0.01, 0.1, 1.0], cv=3, scoring="neg_log_loss",
                 class_weight="balanced").fit(X, y, sample_weight=sw)
    _compare(ours, ref)
    assert ours.coef_.shape == (3, 8) and ours.coefs_paths_.shape == (3, 1, 3, 3, 9)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_l1_ratios_grid_matches_sklearn():
    X, y = _binary(seed=1)
    kw = dict(Cs=[0.05, 0.2, 1.0], l1_ratios=[0.5, 1.0], cv=3, scoring="neg_log_loss")
    ref = sk.LogisticRegressionCV(use_legacy_attributes=False, solver="saga", tol=1e-12,
                                  max_iter=100_000, random_state=0, **kw).fit(X, y)
    ours = _ours(**kw).fit(X, y)
    _compare(ours, ref, path_atol=1e-4)
    assert ours.l1_ratios_.tolist() == [0.5, 1.0]


def test_refit_false_averages_the_folds():
    X, y = _binary(seed=2)
    ref = _sk(Cs=[0.01, 0.1, 1.0], cv=3, refit=False, scoring="neg_log_loss").fit(X, y)
    ours = _ours(Cs=[0.01, 0.1, 1.0], cv=3, refit=False, scoring="neg_log_loss").fit(X, y)
    _compare(ours, ref)


def test_default_grid_and_tie_break():
    X, y = _binary(seed=3)
    ref = sk.LogisticRegressionCV(use_legacy_attributes=False, l1_ratios=(0.0,),
                                  scoring=None, Cs=4, cv=3).fit(X, y)
    ours = LogisticRegressionCV(Cs=4, cv=3).fit(X, y)
    np.testing.assert_allclose(ours.Cs_, np.logspace(-4, 4, 4))
    assert ours.C_ == ref.C_  # accuracy ties: the first best, as scikit-learn


def test_explicit_l1_penalty_equals_l1_ratio_one():
    X, y = _binary(seed=4)
    kw = dict(Cs=[0.05, 0.5], cv=3, scoring="neg_log_loss")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "inconsistent penalty" warning
        a = _ours(penalty="l1", **kw).fit(X, y)
    b = _ours(l1_ratios=[1.0], **kw).fit(X, y)
    assert a.l1_ratios_.tolist() == [1.0] and a.C_ == b.C_
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)
    assert np.sum(a.coef_ == 0) > 0


def test_bad_input():
    X, y = _binary()
    with pytest.raises(ValueError, match="Cs"):
        LogisticRegressionCV(Cs=[0.1, -1.0]).fit(X, y)
    with pytest.raises(ValueError, match="Cs"):
        LogisticRegressionCV(Cs=0).fit(X, y)
    with pytest.raises(ValueError, match="l1_ratios"):
        LogisticRegressionCV(l1_ratios=[1.5]).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        LogisticRegressionCV().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="2 classes"):
        LogisticRegressionCV().fit(X, np.zeros(X.shape[0]))
