//! Weighted ridge regression with intercept, solved by Cholesky in `f64`.
//!
//! Minimises `sum_i w_i (y_i - b - x_i . beta)^2 + alpha |beta|^2` (scikit-learn's
//! `Ridge(alpha, fit_intercept=True).fit(X, y, sample_weight=w)`; the intercept is not
//! penalised). With weighted means `xbar = sum w x / sum w`, `ybar = sum w y / sum w` and centred
//! `Xc = X - xbar`, `yc = y - ybar`:
//! `(Xc^T W Xc + alpha I) beta = Xc^T W yc`, `b = ybar - xbar . beta`.
//! The score is the weighted R^2: `1 - sum w (y - yhat)^2 / sum w (y - ybar)^2`
//! (1 when both sums are 0, 0 when only the denominator is).
//!
//! ```
//! use textrnn_eval::ridge_fit;
//! // x = [0, 1, 2], y = [1, 3, 5], weights 1, alpha 0 -> y = 1 + 2x exactly
//! let fit = ridge_fit(&[0.0, 1.0, 2.0], 1, &[1.0, 3.0, 5.0], &[1.0; 3], 0.0).unwrap();
//! assert!((fit.coef[0] - 2.0).abs() < 1e-12 && (fit.intercept - 1.0).abs() < 1e-12);
//! assert!((fit.score - 1.0).abs() < 1e-12);
//! ```

use serde::Serialize;

use crate::{Error, Result};

/// Coefficients of a fitted ridge regression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RidgeFit {
    /// One coefficient per feature.
    pub coef: Vec<f64>,
    /// Unpenalised intercept.
    pub intercept: f64,
    /// Weighted R^2 on the training data.
    pub score: f64,
}

impl RidgeFit {
    /// `intercept + x . coef`.
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.intercept + x.iter().zip(&self.coef).map(|(a, b)| a * b).sum::<f64>()
    }
}

/// Fits weighted ridge regression on a row-major `N x d` design matrix `x`.
///
/// Errors when shapes disagree, weights are negative or all zero, or the system is singular
/// (only possible with `alpha == 0`).
pub fn ridge_fit(x: &[f64], d: usize, y: &[f64], w: &[f64], alpha: f64) -> Result<RidgeFit> {
    let n = y.len();
    if x.len() != n * d || w.len() != n {
        return Err(Error::LimeSettings(format!(
            "ridge: x has {} values, expected {n} x {d}; {} weights for {n} targets",
            x.len(),
            w.len()
        )));
    }
    let sw: f64 = w.iter().sum();
    if sw.is_nan() || sw <= 0.0 || w.iter().any(|&wi| wi < 0.0) || alpha < 0.0 {
        return Err(Error::LimeSettings(
            "ridge: weights must be non-negative with a positive sum, alpha >= 0".into(),
        ));
    }
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let mut xbar = vec![0.0; d];
    let mut ybar = 0.0;
    for i in 0..n {
        for (m, v) in xbar.iter_mut().zip(row(i)) {
            *m += w[i] * v;
        }
        ybar += w[i] * y[i];
    }
    xbar.iter_mut().for_each(|m| *m /= sw);
    ybar /= sw;

    // A = Xc^T W Xc + alpha I (lower triangle), rhs = Xc^T W yc
    let mut a = vec![0.0; d * d];
    let mut rhs = vec![0.0; d];
    let mut xc = vec![0.0; d];
    for i in 0..n {
        if w[i] == 0.0 {
            continue;
        }
        for (c, (v, m)) in xc.iter_mut().zip(row(i).iter().zip(&xbar)) {
            *c = v - m;
        }
        let yc = y[i] - ybar;
        for j in 0..d {
            let wx = w[i] * xc[j];
            if wx == 0.0 {
                continue;
            }
            rhs[j] += wx * yc;
            for k in 0..=j {
                a[j * d + k] += wx * xc[k];
            }
        }
    }
    for j in 0..d {
        a[j * d + j] += alpha;
    }
    let coef = cholesky_solve(&mut a, d, rhs)?;
    let intercept = ybar - xbar.iter().zip(&coef).map(|(m, b)| m * b).sum::<f64>();
    let mut fit = RidgeFit {
        coef,
        intercept,
        score: 0.0,
    };
    let (mut ss_res, mut ss_tot) = (0.0, 0.0);
    for i in 0..n {
        ss_res += w[i] * (y[i] - fit.predict(row(i))).powi(2);
        ss_tot += w[i] * (y[i] - ybar).powi(2);
    }
    fit.score = match (ss_res == 0.0, ss_tot == 0.0) {
        (true, _) => 1.0,
        (false, true) => 0.0,
        (false, false) => 1.0 - ss_res / ss_tot,
    };
    Ok(fit)
}

/// Solves `A x = b` for symmetric positive definite `A` given by its lower triangle (row-major
/// `d x d`, overwritten by the Cholesky factor `L`, `A = L L^T`).
fn cholesky_solve(a: &mut [f64], d: usize, mut b: Vec<f64>) -> Result<Vec<f64>> {
    for j in 0..d {
        let mut diag = a[j * d + j];
        for k in 0..j {
            diag -= a[j * d + k] * a[j * d + k];
        }
        if diag.is_nan() || diag <= 1e-300 {
            return Err(Error::Singular);
        }
        let l_jj = diag.sqrt();
        a[j * d + j] = l_jj;
        for i in j + 1..d {
            let mut v = a[i * d + j];
            for k in 0..j {
                v -= a[i * d + k] * a[j * d + k];
            }
            a[i * d + j] = v / l_jj;
        }
    }
    // forward: L z = b
    for i in 0..d {
        for k in 0..i {
            b[i] -= a[i * d + k] * b[k];
        }
        b[i] /= a[i * d + i];
    }
    // backward: L^T x = z
    for i in (0..d).rev() {
        for k in i + 1..d {
            b[i] -= a[k * d + i] * b[k];
        }
        b[i] /= a[i * d + i];
    }
    Ok(b)
}
