"""Rank correlations between inputs: checking, repairing, and the sampling factor.

roisim induces Spearman rank correlations with a Gaussian copula (NORTA,
Cario & Nelson 1997): each trial's uniforms of the correlated inputs are
mapped to normal scores, mixed by the Cholesky factor of the normal-score
correlation matrix, and mapped back, before each input's own quantile
function. Every input therefore keeps its distribution exactly. For a
Gaussian copula the rank correlation of continuous inputs is
rho_s = (6/pi) arcsin(r/2), so the normal-score correlation
r = 2 sin(pi rho_s / 6) (Pearson 1907) gives the requested rank
correlation exactly; inputs with ties (discrete ones) get somewhat less.
"""

from __future__ import annotations

import itertools

import numpy as np

#: smallest eigenvalue a correlation matrix may have (numerically positive definite).
MIN_EIGENVALUE = 1e-10


def spearman_to_normal(rho_s: np.ndarray) -> np.ndarray:
    """Normal-score (Pearson) correlation giving rank correlation ``rho_s``."""
    return 2.0 * np.sin(np.pi * np.asarray(rho_s) / 6.0)


def is_valid(matrix: np.ndarray) -> bool:
    """True when ``matrix`` is a positive definite correlation matrix."""
    return bool(np.linalg.eigvalsh(matrix).min() > MIN_EIGENVALUE)


def offending_inputs(matrix: np.ndarray, names: list[str]) -> list[str]:
    """The smallest set of inputs whose correlations already contradict each other."""
    k = len(names)
    for size in range(2, k + 1):
        for subset in itertools.combinations(range(k), size):
            if not is_valid(matrix[np.ix_(subset, subset)]):
                return [names[i] for i in subset]
    return list(names)


def nearest_correlation(matrix: np.ndarray, *, tol: float = 1e-10,
                        max_iter: int = 1000) -> np.ndarray:
    """The nearest correlation matrix in Frobenius norm, safely positive definite.

    Higham (2002): alternating projections with Dykstra's correction.
    """
    y = np.array(matrix, dtype=float)
    correction = np.zeros_like(y)
    for _ in range(max_iter):
        r = y - correction
        vals, vecs = np.linalg.eigh(r)
        x = (vecs * np.maximum(vals, 0.0)) @ vecs.T  # projection onto the PSD cone
        correction = x - r
        y_new = x.copy()
        np.fill_diagonal(y_new, 1.0)  # projection onto unit-diagonal matrices
        if np.linalg.norm(y_new - y, "fro") <= tol * max(1.0, np.linalg.norm(y, "fro")):
            y = y_new
            break
        y = y_new
    # shrink slightly towards the identity so that it is strictly positive definite
    eps = 1e-6
    while not is_valid(y):
        y = (1 - eps) * y + eps * np.eye(len(y))
        eps *= 2
    return (y + y.T) / 2


def groups(matrix: np.ndarray) -> list[list[int]]:
    """Indices of the inputs linked by non-zero correlations, directly or through others.

    A matrix is valid exactly when each group's block is, and the nearest
    valid matrix changes only the blocks that are not.
    """
    linked = matrix != 0
    unseen, found = set(range(len(matrix))), []
    while unseen:
        group, todo = [], [min(unseen)]
        unseen.discard(todo[0])
        while todo:
            i = todo.pop()
            group.append(i)
            for j in np.flatnonzero(linked[i]):
                if j in unseen:
                    unseen.discard(j)
                    todo.append(int(j))
        found.append(sorted(group))
    return found


def usable(rank_matrix: np.ndarray) -> bool:
    """True when rank correlations ``rank_matrix`` and their normal scores are both valid."""
    normal = spearman_to_normal(rank_matrix)
    np.fill_diagonal(normal, 1.0)
    return is_valid(rank_matrix) and is_valid(normal)


def nearest_usable(rank_matrix: np.ndarray) -> np.ndarray:
    """The nearest valid rank matrix whose normal scores the sampler can factorise too."""
    nearest = nearest_correlation(rank_matrix)
    identity = np.eye(len(rank_matrix))
    while not usable(nearest):
        nearest = 0.999 * nearest + 0.001 * identity
    return nearest


def cholesky_factor(rank_matrix: np.ndarray) -> np.ndarray:
    """Lower-triangular factor of the normal-score matrix for rank matrix ``rank_matrix``."""
    normal = spearman_to_normal(rank_matrix)
    np.fill_diagonal(normal, 1.0)
    return np.linalg.cholesky(normal)


def format_matrix(matrix: np.ndarray, names: list[str]) -> str:
    """Pairs of a matrix as 'a~b = 0.41' text, upper triangle only."""
    parts = []
    for i, j in itertools.combinations(range(len(names)), 2):
        parts.append(f"{names[i]}~{names[j]} = {matrix[i, j]:.3f}")
    return ", ".join(parts)
