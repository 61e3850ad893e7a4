//! Fused kernels against the step-wise reference (outputs and every gradient), and central
//! finite-difference checks of the reference itself (f64).
#![allow(clippy::unwrap_used)]

mod common;

use candle_core::{DType, Device, Result, Tensor, Var};
use common::uniform;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use textrnn_rnn::{Backend, Input, Options};

/// The backend of a run: the fused kernels or the step-wise reference.
fn backend(fused: bool) -> Backend {
    if fused {
        Backend::Fused
    } else {
        Backend::Reference
    }
}

/// Options for a direction, mask and recurrent dropout on `backend(fused)`.
fn options<'a>(
    fused: bool,
    reverse: bool,
    mask: Option<&'a Tensor>,
    rd: Option<&'a Tensor>,
) -> Options<'a> {
    Options {
        reverse,
        mask,
        recurrent_dropout: rd,
        backend: backend(fused),
        ..Options::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Cell {
    Lstm,
    Gru,
}

#[derive(Clone, Copy, Debug)]
enum MaskKind {
    None,
    /// Last steps of each row padded (row r has `r % T` padded steps).
    Post,
    /// First steps padded (Keras `padding="pre"`).
    Pre,
    /// Mixed pre-padding with some rows entirely padding.
    AllPadRows,
}

fn mask_values(kind: MaskKind, b: usize, t: usize) -> Option<Vec<f64>> {
    let mut m = vec![1.0; b * t];
    match kind {
        MaskKind::None => return None,
        MaskKind::Post => {
            for r in 0..b {
                let pad = r % t.max(1);
                for s in t - pad..t {
                    m[r * t + s] = 0.0;
                }
            }
        }
        MaskKind::Pre => {
            for r in 0..b {
                for s in 0..(r * 2) % t.max(1) {
                    m[r * t + s] = 0.0;
                }
            }
        }
        MaskKind::AllPadRows => {
            for r in 0..b {
                let pad = if r % 2 == 0 { t } else { (r / 2) % t };
                for s in 0..pad {
                    m[r * t + s] = 0.0;
                }
            }
        }
    }
    Some(m)
}

/// Inputs of one case, as plain f64 vectors (converted per run).
struct Case {
    cell: Cell,
    b: usize,
    t: usize,
    u: usize,
    reverse: bool,
    xproj: Vec<f64>,
    w_hh: Vec<f64>,
    b_hh: Vec<f64>,
    h0: Vec<f64>,
    c0: Vec<f64>,
    mask: Option<Vec<f64>>,
    rd: Option<Vec<f64>>,
    loss_w: Vec<f64>,
}

#[allow(clippy::too_many_arguments)]
fn make_case(
    seed: u64,
    cell: Cell,
    b: usize,
    t: usize,
    u: usize,
    reverse: bool,
    mask: MaskKind,
    with_rd: bool,
) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let g = if cell == Cell::Lstm { 4 } else { 3 };
    let rd = with_rd.then(|| {
        (0..b * u)
            .map(|_| if rng.random_bool(0.3) { 0.0 } else { 1.0 / 0.7 })
            .collect()
    });
    Case {
        cell,
        b,
        t,
        u,
        reverse,
        xproj: uniform(&mut rng, b * t * g * u, 1.5),
        w_hh: uniform(&mut rng, u * g * u, 0.8),
        b_hh: uniform(&mut rng, g * u, 0.5),
        h0: uniform(&mut rng, b * u, 0.5),
        c0: uniform(&mut rng, b * u, 0.5),
        mask: mask_values(mask, b, t),
        rd,
        loss_w: uniform(&mut rng, b * t * u, 1.0),
    }
}

struct Run {
    out: Vec<f64>,
    grads: Vec<(&'static str, Vec<f64>)>,
}

fn flat(t: &Tensor) -> Result<Vec<f64>> {
    t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()
}

/// Runs the case with the fused op (`fused`) or the reference, returns output and gradients.
fn run(c: &Case, dtype: DType, fused: bool, track: bool) -> Result<Run> {
    let dev = Device::Cpu;
    let g = if c.cell == Cell::Lstm { 4 } else { 3 };
    let (b, t, u) = (c.b, c.t, c.u);
    let ten = |v: &[f64], shape: &[usize]| -> Result<Tensor> {
        Tensor::from_vec(v.to_vec(), shape, &dev)?.to_dtype(dtype)
    };
    let xproj = Var::from_tensor(&ten(&c.xproj, &[b, t, g * u])?)?;
    let w_hh = Var::from_tensor(&ten(&c.w_hh, &[u, g * u])?)?;
    let b_hh = Var::from_tensor(&ten(&c.b_hh, &[g * u])?)?;
    let h0 = Var::from_tensor(&ten(&c.h0, &[b, u])?)?;
    let c0 = Var::from_tensor(&ten(&c.c0, &[b, u])?)?;
    let mask = c
        .mask
        .as_ref()
        .map(|m| Tensor::from_vec(m.clone(), (b, t), &dev)?.to_dtype(DType::F32))
        .transpose()?;
    let rd =
        c.rd.as_ref()
            .map(|r| Tensor::from_vec(r.clone(), (b, u), &dev)?.to_dtype(DType::F32))
            .transpose()?;
    let pick = |v: &Var| -> Tensor {
        if track {
            v.as_tensor().clone()
        } else {
            v.as_tensor().detach()
        }
    };
    let (x, w, bh, h, cc) = (pick(&xproj), pick(&w_hh), pick(&b_hh), pick(&h0), pick(&c0));
    let cell = match c.cell {
        Cell::Lstm => textrnn_rnn::Cell::Lstm {
            w_hh: &w,
            h0: &h,
            c0: &cc,
        },
        Cell::Gru => textrnn_rnn::Cell::Gru {
            w_hh: &w,
            b_hh: &bh,
            h0: &h,
        },
    };
    let opts = options(fused, c.reverse, mask.as_ref(), rd.as_ref());
    let out = textrnn_rnn::run(cell, Input::Projected(&x), &opts)?;
    assert_eq!(out.dims(), &[b, t, u]);
    let mut grads = Vec::new();
    if track {
        let loss = out.mul(&ten(&c.loss_w, &[b, t, u])?)?.sum_all()?;
        let gs = loss.backward()?;
        let mut params = vec![("xproj", &xproj), ("w_hh", &w_hh), ("h0", &h0)];
        match c.cell {
            Cell::Lstm => params.push(("c0", &c0)),
            Cell::Gru => params.push(("b_hh", &b_hh)),
        }
        for (name, p) in params {
            let gr = match gs.get(p.as_tensor()) {
                Some(gr) => flat(gr)?,
                None => vec![0.0; p.as_tensor().elem_count()],
            };
            grads.push((name, gr));
        }
    }
    Ok(Run {
        out: flat(&out)?,
        grads,
    })
}

/// `max |a - b| / max(max |b|, 1e-3)`.
fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let den = b.iter().map(|y| y.abs()).fold(1e-3, f64::max);
    num / den
}

fn compare(c: &Case, dtype: DType, tol: f64) -> Result<()> {
    let fused = run(c, dtype, true, true)?;
    let refr = run(c, dtype, false, true)?;
    let what = format!(
        "{:?} b={} t={} u={} reverse={} mask={} rd={} {dtype:?}",
        c.cell,
        c.b,
        c.t,
        c.u,
        c.reverse,
        c.mask.is_some(),
        c.rd.is_some()
    );
    let e = rel_err(&fused.out, &refr.out);
    assert!(e < tol, "{what}: output rel err {e:e}");
    for ((name, gf), (_, gr)) in fused.grads.iter().zip(&refr.grads) {
        let e = rel_err(gf, gr);
        assert!(e < tol, "{what}: d{name} rel err {e:e}");
        assert!(gr.iter().any(|v| *v != 0.0) || gf.iter().all(|v| *v == 0.0));
    }
    // Inference path (nothing tracked) gives the same output.
    let inf = run(c, dtype, true, false)?;
    let e = rel_err(&inf.out, &refr.out);
    assert!(e < tol, "{what}: inference output rel err {e:e}");
    Ok(())
}

fn shapes() -> Vec<(usize, usize, usize)> {
    vec![
        (1, 1, 5),
        (1, 7, 13),
        (3, 1, 8),
        (4, 6, 5),
        (5, 9, 13),
        (2, 4, 1),
        (6, 11, 16),
    ]
}

fn sweep(cell: Cell, dtype: DType, tol: f64) -> Result<()> {
    let mut seed = 0;
    for (b, t, u) in shapes() {
        for reverse in [false, true] {
            for mask in [
                MaskKind::None,
                MaskKind::Post,
                MaskKind::Pre,
                MaskKind::AllPadRows,
            ] {
                for with_rd in [false, true] {
                    seed += 1;
                    let c = make_case(seed, cell, b, t, u, reverse, mask, with_rd);
                    compare(&c, dtype, tol)?;
                }
            }
        }
    }
    Ok(())
}

#[test]
fn recurrent_lstm_fused_matches_reference_f32() -> Result<()> {
    sweep(Cell::Lstm, DType::F32, 1e-4)
}

#[test]
fn recurrent_gru_fused_matches_reference_f32() -> Result<()> {
    sweep(Cell::Gru, DType::F32, 1e-4)
}

#[test]
fn recurrent_lstm_fused_matches_reference_f64() -> Result<()> {
    sweep(Cell::Lstm, DType::F64, 1e-10)
}

#[test]
fn recurrent_gru_fused_matches_reference_f64() -> Result<()> {
    sweep(Cell::Gru, DType::F64, 1e-10)
}

#[test]
fn recurrent_larger_batch_uses_all_chunks() -> Result<()> {
    for cell in [Cell::Lstm, Cell::Gru] {
        let c = make_case(99, cell, 37, 23, 29, true, MaskKind::AllPadRows, true);
        compare(&c, DType::F32, 1e-4)?;
    }
    Ok(())
}

#[test]
fn recurrent_all_padding_row_outputs_h0() -> Result<()> {
    for cell in [Cell::Lstm, Cell::Gru] {
        for fused in [true, false] {
            let c = make_case(5, cell, 4, 6, 5, false, MaskKind::AllPadRows, false);
            let r = run(&c, DType::F32, fused, false)?;
            // Row 0 is entirely padding: every output equals h0[0].
            for s in 0..c.t {
                for j in 0..c.u {
                    let v = r.out[s * c.u + j];
                    assert!((v - c.h0[j]).abs() < 1e-6, "{cell:?} fused={fused}");
                }
            }
        }
    }
    Ok(())
}

/// Central differences of `sum(out ⊙ w)` on the f64 reference.
fn finite_difference(cell: Cell, mask: MaskKind, with_rd: bool, reverse: bool) -> Result<()> {
    let c = make_case(1234, cell, 2, 4, 3, reverse, mask, with_rd);
    let analytic = run(&c, DType::F64, false, true)?;
    let loss = |c: &Case| -> Result<f64> {
        let r = run(c, DType::F64, false, false)?;
        Ok(r.out.iter().zip(&c.loss_w).map(|(o, w)| o * w).sum())
    };
    let eps = 1e-6;
    for (name, grad) in &analytic.grads {
        let mut fd = Vec::with_capacity(grad.len());
        for k in 0..grad.len() {
            let mut plus = clone_case(&c);
            let mut minus = clone_case(&c);
            param_mut(&mut plus, name)[k] += eps;
            param_mut(&mut minus, name)[k] -= eps;
            fd.push((loss(&plus)? - loss(&minus)?) / (2.0 * eps));
        }
        let e = rel_err(grad, &fd);
        assert!(
            e < 1e-4,
            "{cell:?} {mask:?} rd={with_rd}: d{name} fd rel err {e:e}"
        );
    }
    Ok(())
}

fn clone_case(c: &Case) -> Case {
    Case {
        cell: c.cell,
        b: c.b,
        t: c.t,
        u: c.u,
        reverse: c.reverse,
        xproj: c.xproj.clone(),
        w_hh: c.w_hh.clone(),
        b_hh: c.b_hh.clone(),
        h0: c.h0.clone(),
        c0: c.c0.clone(),
        mask: c.mask.clone(),
        rd: c.rd.clone(),
        loss_w: c.loss_w.clone(),
    }
}

fn param_mut<'a>(c: &'a mut Case, name: &str) -> &'a mut Vec<f64> {
    match name {
        "xproj" => &mut c.xproj,
        "w_hh" => &mut c.w_hh,
        "b_hh" => &mut c.b_hh,
        "h0" => &mut c.h0,
        "c0" => &mut c.c0,
        other => panic!("unknown parameter {other}"),
    }
}

#[test]
fn recurrent_reference_lstm_finite_differences() -> Result<()> {
    finite_difference(Cell::Lstm, MaskKind::None, false, false)?;
    finite_difference(Cell::Lstm, MaskKind::Pre, true, true)?;
    finite_difference(Cell::Lstm, MaskKind::Post, false, false)
}

#[test]
fn recurrent_reference_gru_finite_differences() -> Result<()> {
    finite_difference(Cell::Gru, MaskKind::None, false, false)?;
    finite_difference(Cell::Gru, MaskKind::Pre, true, true)?;
    finite_difference(Cell::Gru, MaskKind::AllPadRows, false, false)
}

#[test]
fn recurrent_shape_errors_are_reported() {
    let dev = Device::Cpu;
    let x = Tensor::zeros((2, 3, 8), DType::F32, &dev);
    let w = Tensor::zeros((2, 8), DType::F32, &dev);
    let h = Tensor::zeros((2, 3), DType::F32, &dev);
    if let (Ok(x), Ok(w), Ok(h)) = (x, w, h) {
        let cell = textrnn_rnn::Cell::Lstm {
            w_hh: &w,
            h0: &h,
            c0: &h,
        };
        let e = textrnn_rnn::run(cell, Input::Projected(&x), &Options::default());
        assert!(e.is_err());
    }
}

/// Backward consumes the activations the fused op kept (its gradients overwrite them), so a
/// second backward through the same forward is an error that says so, not a panic or garbage.
#[test]
fn recurrent_second_backward_is_a_clear_error() -> Result<()> {
    let dev = Device::Cpu;
    let (b, t, u) = (2, 3, 4);
    for cell in [Cell::Lstm, Cell::Gru] {
        let g = if cell == Cell::Lstm { 4 } else { 3 };
        let xproj = Var::from_tensor(&Tensor::rand(-1f32, 1f32, (b, t, g * u), &dev)?)?;
        let w = Var::from_tensor(&Tensor::rand(-1f32, 1f32, (u, g * u), &dev)?)?;
        let h0 = Tensor::zeros((b, u), DType::F32, &dev)?;
        let b_hh = Tensor::zeros(g * u, DType::F32, &dev)?;
        let c = match cell {
            Cell::Lstm => textrnn_rnn::Cell::Lstm {
                w_hh: &w,
                h0: &h0,
                c0: &h0,
            },
            Cell::Gru => textrnn_rnn::Cell::Gru {
                w_hh: &w,
                b_hh: &b_hh,
                h0: &h0,
            },
        };
        let opts = options(true, false, None, None);
        let out = textrnn_rnn::run(c, Input::Projected(&xproj), &opts)?;
        let loss = out.sum_all()?;
        let grads = loss.backward()?;
        assert!(grads.get(w.as_tensor()).is_some());
        let err = loss
            .backward()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("backward runs once per forward"),
            "{cell:?}: {err:?}"
        );
    }
    Ok(())
}

/// `lstm_projected` / `gru_projected`: the fused op with the input projection inside, against
/// `[x, 1]·[kernel; bias]` and the step-wise reference; output and the gradients of `x`, `kernel`,
/// `bias`, `w_hh`, `b_hh` and `h0`, plus the untracked inference output.
fn projected_case(cell: Cell, dtype: DType, reverse: bool, with_rd: bool, tol: f64) -> Result<()> {
    let dev = Device::Cpu;
    let (b, t, f, u) = (5, 7, 6, 9);
    let g = if cell == Cell::Lstm { 4 } else { 3 };
    let mut rng = ChaCha8Rng::seed_from_u64(41 + u64::from(reverse) + 2 * u64::from(with_rd));
    let mut var = |shape: &[usize], scale: f64| -> Result<Var> {
        let n = shape.iter().product();
        Var::from_tensor(
            &Tensor::from_vec(uniform(&mut rng, n, scale), shape, &dev)?.to_dtype(dtype)?,
        )
    };
    let x = var(&[b, t, f], 1.0)?;
    let kernel = var(&[f, g * u], 0.5)?;
    let bias = var(&[g * u], 0.3)?;
    let w_hh = var(&[u, g * u], 0.4)?;
    let b_hh = var(&[g * u], 0.3)?;
    let h0 = var(&[b, u], 0.5)?;
    let c0 = var(&[b, u], 0.5)?;
    let loss_w = var(&[b, t, u], 1.0)?;
    let mask = mask_values(MaskKind::Post, b, t)
        .map(|m| Tensor::from_vec(m, (b, t), &dev)?.to_dtype(dtype))
        .transpose()?;
    let rd = if with_rd {
        let v: Vec<f64> = (0..b * u)
            .map(|i| if i % 3 == 0 { 0.0 } else { 1.5 })
            .collect();
        Some(Tensor::from_vec(v, (b, u), &dev)?.to_dtype(dtype)?)
    } else {
        None
    };
    let vars = [&x, &kernel, &bias, &w_hh, &b_hh, &h0, &c0];
    let go = |fused: bool, track: bool| -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        let p = |v: &Var| {
            if track {
                v.as_tensor().clone()
            } else {
                v.as_tensor().detach()
            }
        };
        let (x, k, bi, w, bh, h, c) = (
            p(&x),
            p(&kernel),
            p(&bias),
            p(&w_hh),
            p(&b_hh),
            p(&h0),
            p(&c0),
        );
        let opts = options(fused, reverse, mask.as_ref(), rd.as_ref());
        let rnn_cell = match cell {
            Cell::Lstm => textrnn_rnn::Cell::Lstm {
                w_hh: &w,
                h0: &h,
                c0: &c,
            },
            Cell::Gru => textrnn_rnn::Cell::Gru {
                w_hh: &w,
                b_hh: &bh,
                h0: &h,
            },
        };
        // The reference projects `[x, 1]·[kernel; bias]` and runs the step-wise recurrence.
        let input = Input::Raw {
            x: &x,
            kernel: &k,
            bias: &bi,
        };
        let out = textrnn_rnn::run(rnn_cell, input, &opts)?;
        let mut grads = Vec::new();
        if track {
            let gs = out.mul(loss_w.as_tensor())?.sum_all()?.backward()?;
            for v in vars {
                grads.push(match gs.get(v.as_tensor()) {
                    Some(gr) => flat(gr)?,
                    None => vec![0.0; v.as_tensor().elem_count()],
                });
            }
        }
        Ok((flat(&out)?, grads))
    };
    let (of, gf) = go(true, true)?;
    let (or, gr) = go(false, true)?;
    let (oi, _) = go(true, false)?;
    let what = format!("{cell:?} projected reverse={reverse} rd={with_rd} {dtype:?}");
    assert!(rel_err(&of, &or) < tol, "{what}: output");
    assert!(rel_err(&oi, &or) < tol, "{what}: inference output");
    let names = ["x", "kernel", "bias", "w_hh", "b_hh", "h0", "c0"];
    for ((name, a), r) in names.iter().zip(&gf).zip(&gr) {
        let e = rel_err(a, r);
        assert!(e < tol, "{what}: d{name} rel err {e:e}");
    }
    Ok(())
}

#[test]
fn recurrent_projected_matches_reference() -> Result<()> {
    for cell in [Cell::Lstm, Cell::Gru] {
        for reverse in [false, true] {
            for with_rd in [false, true] {
                projected_case(cell, DType::F64, reverse, with_rd, 1e-9)?;
                projected_case(cell, DType::F32, reverse, with_rd, 2e-4)?;
            }
        }
    }
    Ok(())
}
