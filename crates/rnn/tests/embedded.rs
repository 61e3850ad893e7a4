//! The recurrence on token ids (`Input::Embedded`) and on the final state only
//! (`Outputs::Final`) against gathering the projected rows and running the whole sequence.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::{max_abs_diff, randn, tokens, TestResult};
use textrnn_rnn::{Cell, Input, Options, Outputs};

const CPU: Device = Device::Cpu;
const SEQ: Outputs = Outputs::Sequence;

/// The cell with `gates` gates (4: LSTM, else GRU), `b_hh` only for the GRU and `c0` only for
/// the LSTM.
fn cell<'a>(
    gates: usize,
    w_hh: &'a Tensor,
    b_hh: &'a Tensor,
    (h0, c0): (&'a Tensor, &'a Tensor),
) -> Cell<'a> {
    if gates == 4 {
        Cell::Lstm { w_hh, h0, c0 }
    } else {
        Cell::Gru { w_hh, b_hh, h0 }
    }
}

/// [`textrnn_rnn::run`] with a mask, recurrent dropout, direction and outputs.
fn run(
    cell: Cell<'_>,
    input: Input<'_>,
    (mask, rd): (Option<&Tensor>, Option<&Tensor>),
    reverse: bool,
    outputs: Outputs,
) -> candle_core::Result<Tensor> {
    let opts = Options {
        reverse,
        outputs,
        mask,
        recurrent_dropout: rd,
        ..Options::default()
    };
    textrnn_rnn::run(cell, input, &opts)
}

/// Token ids reading `table`.
fn embedded<'a>(ids: &'a Tensor, table: &'a Tensor) -> Input<'a> {
    Input::Embedded { ids, table }
}

/// The op-level entry points against gathering the projected rows and running the sequence
/// (f64, so the comparison is tight), both directions, with padding; ids out of the table are
/// an error on both paths.
#[test]
fn embedded_sequences_match_gathered_rows() -> TestResult {
    let (v, b, t, u) = (11, 3, 7, 5);
    let ids = tokens(b, t, v as u32, Some(4))?;
    let mask = ids.ne(0u32)?.to_dtype(DType::F64)?;
    let h0 = randn(&[b, u], 5, DType::F64)?;
    let c0 = randn(&[b, u], 6, DType::F64)?;
    for reverse in [false, true] {
        // LSTM.
        let table = randn(&[v, 4 * u], 1, DType::F64)?;
        let w_hh = (randn(&[u, 4 * u], 2, DType::F64)? * 0.5)?;
        let xproj = table
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, 4 * u))?;
        let lstm = cell(4, &w_hh, &w_hh, (&h0, &c0));
        let m = (Some(&mask), None);
        let want = run(lstm, Input::Projected(&xproj), m, reverse, SEQ)?;
        let got = run(lstm, embedded(&ids, &table), m, reverse, SEQ)?;
        assert!(max_abs_diff(&want, &got)? < 1e-12);
        // GRU.
        let table = randn(&[v, 3 * u], 3, DType::F64)?;
        let w_hh = (randn(&[u, 3 * u], 4, DType::F64)? * 0.5)?;
        let b_hh = randn(&[3 * u], 7, DType::F64)?;
        let xproj = table
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, 3 * u))?;
        let gru = cell(3, &w_hh, &b_hh, (&h0, &h0));
        let m = (Some(&mask), None);
        let want = run(gru, Input::Projected(&xproj), m, reverse, SEQ)?;
        let got = run(gru, embedded(&ids, &table), m, reverse, SEQ)?;
        assert!(max_abs_diff(&want, &got)? < 1e-12);
    }
    let bad = Tensor::new(&[[1u32, 11]], &CPU)?;
    let table = randn(&[v, 4 * u], 1, DType::F64)?;
    let w_hh = randn(&[u, 4 * u], 2, DType::F64)?;
    let h = randn(&[1, u], 5, DType::F64)?;
    let lstm = cell(4, &w_hh, &w_hh, (&h, &h));
    let err = run(lstm, embedded(&bad, &table), (None, None), false, SEQ)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("token id 11"), "{err}");
    let tracked = candle_core::Var::from_tensor(&table)?;
    let err = run(
        lstm,
        embedded(&bad, tracked.as_tensor()),
        (None, None),
        false,
        SEQ,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("token id 11"), "{err}");
    Ok(())
}

/// Training through the fused op on ids: the gradients of the table, the recurrent kernel, the
/// initial states and (GRU) the recurrent bias equal those of gathering the rows first, with
/// masks, recurrent dropout, repeated ids and both directions (f64).
#[test]
fn embedded_gradients_match_gathered_rows() -> TestResult {
    let (v, b, t, u) = (9, 4, 6, 3);
    let ids = tokens(b, t, v as u32, Some(4))?;
    let mask = ids.ne(0u32)?.to_dtype(DType::F64)?;
    let rd = (randn(&[b, u], 8, DType::F64)?
        .ge(0.0)?
        .to_dtype(DType::F64)?
        * 2.0)?;
    let weights = randn(&[b, t, u], 9, DType::F64)?;
    for (gates, reverse) in [(4, false), (4, true), (3, false), (3, true)] {
        let var = |dims: &[usize], seed| -> candle_core::Result<Var> {
            Var::from_tensor(&(randn(dims, seed, DType::F64)? * 0.7)?)
        };
        let table = var(&[v, gates * u], 1)?;
        let w_hh = var(&[u, gates * u], 2)?;
        let b_hh = var(&[gates * u], 3)?;
        let h0 = var(&[b, u], 4)?;
        let c0 = var(&[b, u], 5)?;
        let grads_of = |gathered: bool| -> candle_core::Result<Vec<Tensor>> {
            let tab = if gathered {
                table
                    .as_tensor()
                    .index_select(&ids.flatten_all()?, 0)?
                    .reshape((b, t, gates * u))?
            } else {
                table.as_tensor().clone()
            };
            let c = cell(gates, &w_hh, &b_hh, (&h0, &c0));
            let input = if gathered {
                Input::Projected(&tab)
            } else {
                embedded(&ids, &tab)
            };
            let out = run(c, input, (Some(&mask), Some(&rd)), reverse, SEQ)?;
            let grads = out.mul(&weights)?.sum_all()?.backward()?;
            let mut vars = vec![&table, &w_hh, &h0];
            vars.push(if gates == 4 { &c0 } else { &b_hh });
            vars.iter()
                .map(|x| {
                    grads
                        .get(x.as_tensor())
                        .cloned()
                        .ok_or_else(|| candle_core::Error::Msg("missing gradient".into()))
                })
                .collect()
        };
        for (k, (a, b)) in grads_of(false)?
            .iter()
            .zip(grads_of(true)?.iter())
            .enumerate()
        {
            let diff = max_abs_diff(a, b)?;
            assert!(
                diff < 1e-10,
                "gates {gates} reverse {reverse}: gradient {k} differs by {diff}"
            );
        }
    }
    Ok(())
}

/// `Outputs::Final` is the last visited step of `Outputs::Sequence` (step 0 when reversed), for
/// the raw and the embedded inputs, on detached tensors (where the fused ops keep only the final
/// state) and under autograd, with padding rows.
#[test]
fn final_outputs_are_the_last_visited_step() -> TestResult {
    let (v, b, t, f, u) = (8, 3, 6, 4, 5);
    let ids = tokens(b, t, v as u32, Some(2))?;
    let mask = ids.ne(0u32)?.to_dtype(DType::F32)?;
    let x = randn(&[b, t, f], 1, DType::F32)?;
    let h0 = randn(&[b, u], 2, DType::F32)?;
    for reverse in [false, true] {
        for gates in [4usize, 3] {
            let g = gates * u;
            let kernel = Var::from_tensor(&randn(&[f, g], 3, DType::F32)?)?;
            let bias = Var::from_tensor(&randn(&[g], 4, DType::F32)?)?;
            let w_hh = Var::from_tensor(&randn(&[u, g], 5, DType::F32)?)?;
            let table = Var::from_tensor(&randn(&[v, g], 6, DType::F32)?)?;
            let outs = |outputs: Outputs, track: bool| -> candle_core::Result<[Tensor; 2]> {
                let p = |v: &Var| {
                    if track {
                        v.as_tensor().clone()
                    } else {
                        v.as_tensor().detach()
                    }
                };
                let (kernel, bias, w_hh, table) = (p(&kernel), p(&bias), p(&w_hh), p(&table));
                let c = cell(gates, &w_hh, &bias, (&h0, &h0));
                let raw = Input::Raw {
                    x: &x,
                    kernel: &kernel,
                    bias: &bias,
                };
                let m = (Some(&mask), None);
                Ok([
                    run(c, raw, m, reverse, outputs)?,
                    run(c, embedded(&ids, &table), m, reverse, outputs)?,
                ])
            };
            let last = if reverse { 0 } else { t - 1 };
            let all = outs(SEQ, false)?;
            for finals in [outs(Outputs::Final, false)?, outs(Outputs::Final, true)?] {
                for (a, z) in all.iter().zip(finals.iter()) {
                    assert_eq!(z.dims(), &[b, u]);
                    let want = a.narrow(1, last, 1)?.squeeze(1)?;
                    assert!(
                        max_abs_diff(&want, z)? < 1e-6,
                        "gates {gates} reverse {reverse}"
                    );
                }
            }
        }
    }
    Ok(())
}

/// Training on the final state only (the fused ops then output `(B,1,u)` and keep every step's
/// `h` for backward themselves): the gradients of every input equal those of the whole sequence
/// narrowed to its last visited step, for all four entry points, both directions, with padding
/// rows, recurrent dropout and hidden sizes with and without a vector tail (f64).
#[test]
fn final_output_gradients_match_the_sequence_path() -> TestResult {
    let (v, b, t, f) = (8, 5, 7, 4);
    let ids = tokens(b, t, v as u32, Some(2))?;
    let mask = ids.ne(0u32)?.to_dtype(DType::F64)?;
    for u in [3usize, 11] {
        let rd = (randn(&[b, u], 8, DType::F64)?
            .ge(0.0)?
            .to_dtype(DType::F64)?
            * 2.0)?;
        let loss_w = randn(&[b, u], 9, DType::F64)?;
        for reverse in [false, true] {
            for gates in [4usize, 3] {
                let g = gates * u;
                let var = |dims: &[usize], seed| -> candle_core::Result<Var> {
                    Var::from_tensor(&(randn(dims, seed, DType::F64)? * 0.7)?)
                };
                let vars = [
                    var(&[b, t, f], 1)?,
                    var(&[f, g], 2)?,
                    var(&[g], 3)?,
                    var(&[u, g], 4)?,
                    var(&[b, u], 5)?,
                    var(&[v, g], 6)?,
                ];
                let [x, kernel, bias, w_hh, h0, table] = vars.each_ref().map(|v| v.as_tensor());
                let (m, rd) = (Some(&mask), Some(&rd));
                let last = if reverse { 0 } else { t - 1 };
                let grads = |outputs: Outputs| -> candle_core::Result<Vec<Vec<f64>>> {
                    let c = cell(gates, w_hh, bias, (h0, h0));
                    let raw = Input::Raw { x, kernel, bias };
                    let outs = [
                        run(c, raw, (m, rd), reverse, outputs)?,
                        run(c, embedded(&ids, table), (m, rd), reverse, outputs)?,
                    ];
                    let mut loss = Tensor::zeros((), DType::F64, &CPU)?;
                    for out in outs {
                        let fin = match outputs {
                            Outputs::Final => out,
                            Outputs::Sequence => out.narrow(1, last, 1)?.squeeze(1)?,
                        };
                        loss = (loss + (fin * &loss_w)?.sum_all()?)?;
                    }
                    let store = loss.backward()?;
                    vars.iter()
                        .map(|v| match store.get(v.as_tensor()) {
                            Some(g) => g.flatten_all()?.to_vec1::<f64>(),
                            None => Ok(vec![0.0; v.elem_count()]),
                        })
                        .collect()
                };
                let (want, got) = (grads(SEQ)?, grads(Outputs::Final)?);
                for (k, (a, z)) in want.iter().zip(&got).enumerate() {
                    let diff = a
                        .iter()
                        .zip(z)
                        .map(|(a, z)| (a - z).abs())
                        .fold(0.0, f64::max);
                    assert!(
                        diff < 1e-10,
                        "u {u} gates {gates} reverse {reverse}: gradient {k} differs by {diff}"
                    );
                }
            }
        }
    }
    Ok(())
}
