"""scikit-learn's estimator checks on the estimators added for issue 15 (part 1)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from numlearn.linear_model import MultiTaskElasticNet, MultiTaskLasso

ESTIMATORS = [MultiTaskLasso(), MultiTaskElasticNet()]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
