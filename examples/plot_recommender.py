"""
Recommendations from a ratings DataFrame
========================================

A recommender built end to end from a pandas DataFrame of ``(user, item, rating)`` rows
with string ids: hold out 20% of the ratings, fit explicit-feedback ALS with biases and the
ALS-WR penalty (:class:`~numlearn.completion.AltMinCompletion`), check the held-out RMSE
against the global-mean baseline, pick the rank by cross-validation, then recommend unseen
items to a user and list the items most similar to one. The ratings are generated with the
structure of public movie-ratings data (:func:`~numlearn.completion.make_ratings`); nothing
is downloaded.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from numlearn.completion import AltMinCompletion, ImplicitALS, make_ratings
from numlearn.metrics import precision_at_k

users, items, ratings = make_ratings(400, 600, 25_000, random_state=0)
frame = pd.DataFrame({"user": [f"user-{u:03d}" for u in users],
                      "item": [f"movie-{i:04d}" for i in items],
                      "rating": ratings})
test = np.random.default_rng(0).random(len(frame)) < 0.2
train_frame, test_frame = frame[~test], frame[test]

# %%
# Explicit ratings: ALS-WR with biases, early stopping on a validation fraction
model = AltMinCompletion(rank=10, reg=0.1, reg_scaling="count", biases=True,
                         init="random", validation_fraction=0.1, max_iter=50,
                         cold_start="mean", random_state=0)
model.fit(train_frame)
baseline = np.sqrt(np.mean((test_frame["rating"] - train_frame["rating"].mean()) ** 2))
print(f"held-out RMSE {-model.score(test_frame):.3f} (global mean: {baseline:.3f}), "
      f"{model.n_iter_} iterations")

# %%
# Rank by cross-validation (``score`` is minus the RMSE)
search = GridSearchCV(model.set_params(validation_fraction=None, max_iter=15, tol=0.0),
                      {"rank": [2, 5, 10, 20]}, cv=KFold(3, shuffle=True, random_state=0))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 15 iterations, as asked
    search.fit(train_frame)
print("best rank:", search.best_params_["rank"])

# %%
# Top-5 unseen items for one user, items similar to one item
user = "user-007"
recommended, predicted = search.best_estimator_.recommend(user, n=5)
print(pd.DataFrame({"item": recommended, "predicted rating": predicted.round(2)}))
similar, cosine = search.best_estimator_.similar_items("movie-0042", n=3)
print("similar to movie-0042:", list(similar))

# %%
# Implicit feedback (who rated what), ranked by precision@10 on the held-out pairs
implicit = ImplicitALS(rank=16, reg=1.0, alpha=1.0, random_state=0)
implicit.fit(train_frame[["user", "item"]])
print(f"implicit ALS precision@10: {implicit.score(test_frame[['user', 'item']]):.3f}")

fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
ranks = search.cv_results_["param_rank"].data.astype(int)
ax[0].plot(ranks, -search.cv_results_["mean_test_score"], "o-")
ax[0].set(xlabel="rank", ylabel="cross-validated RMSE", title="Choosing the rank")
ax[1].barh(range(5)[::-1], predicted, tick_label=list(recommended))
ax[1].set(xlabel="predicted rating", title=f"Recommended for {user}")
fig.tight_layout()
plt.show()
