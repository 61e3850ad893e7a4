//! Seeded initialisation, save/load round trips and load errors.

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use common::{max_abs_diff, spec, tokens, TestResult};
use textrnn_models::{Classifier, Error, Mode, ModelSpec, TextClassifier};

const CPU: Device = Device::Cpu;

fn model_spec() -> Result<ModelSpec, serde_json::Error> {
    spec(
        r#"[{"type": "embedding", "input_dim": 40, "output_dim": 8, "mask_zero": true},
            {"type": "bidirectional", "layer": {"type": "lstm", "units": 5, "return_sequences": true}},
            {"type": "gru", "units": 4},
            {"type": "dense", "units": 6, "activation": "relu"},
            {"type": "dropout", "rate": 0.2},
            {"type": "dense", "units": 3, "activation": "softmax"}]"#,
    )
}

fn snapshot(
    varmap: &candle_nn::VarMap,
) -> Result<HashMap<String, Vec<f32>>, Box<dyn std::error::Error>> {
    let data = varmap.data().lock().map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    for (k, v) in data.iter() {
        out.insert(k.clone(), v.as_tensor().flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(out)
}

#[test]
fn seeded_init_is_bit_identical() -> TestResult {
    let s = model_spec()?;
    let (_, a) = TextClassifier::init(&s, 10, 42, &CPU)?;
    let (_, b) = TextClassifier::init(&s, 10, 42, &CPU)?;
    let (_, c) = TextClassifier::init(&s, 10, 43, &CPU)?;
    let (a, b, c) = (snapshot(&a)?, snapshot(&b)?, snapshot(&c)?);
    assert_eq!(a.len(), s.param_specs(10)?.len());
    for (k, va) in &a {
        let same = va
            .iter()
            .zip(&b[k])
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{k} differs for the same seed");
    }
    assert_ne!(a["gru.kernel"], c["gru.kernel"]);
    // Keras initialisers: zeros, unit forget bias, uniform ±0.05 embeddings.
    assert!(a["dense.bias"].iter().all(|v| *v == 0.0));
    let bias = &a["bidirectional.backward.bias"];
    assert!(bias[..5].iter().all(|v| *v == 0.0) && bias[5..10].iter().all(|v| *v == 1.0));
    assert!(bias[10..].iter().all(|v| *v == 0.0));
    assert!(a["embedding.embeddings"].iter().all(|v| v.abs() <= 0.05));
    assert!(a["gru.bias"].iter().all(|v| *v == 0.0));
    Ok(())
}

/// Keras orthogonal on `(u, G·u)`: rows orthonormal, `W Wᵀ = I_u`.
#[test]
fn recurrent_kernels_have_orthonormal_rows() -> TestResult {
    let s = model_spec()?;
    let (_, vm) = TextClassifier::init(&s, 10, 1, &CPU)?;
    let data = vm.data().lock().map_err(|e| e.to_string())?;
    for (key, u) in [
        ("bidirectional.forward.recurrent_kernel", 5),
        ("bidirectional.backward.recurrent_kernel", 5),
        ("gru.recurrent_kernel", 4),
    ] {
        let w = data[key].as_tensor().to_dtype(DType::F64)?;
        let gram = w.matmul(&w.t()?)?;
        let err = max_abs_diff(&gram, &Tensor::eye(u, DType::F64, &CPU)?)?;
        assert!(err < 1e-6, "{key}: |W Wᵀ − I| = {err}");
    }
    Ok(())
}

#[test]
fn save_load_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.safetensors");
    let s = model_spec()?;
    let (model, vm) = TextClassifier::init(&s, 10, 7, &CPU)?;
    TextClassifier::save(&vm, &path)?;
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())?.collect::<Result<_, _>>()?;
    assert_eq!(leftovers.len(), 1, "temporary file left behind");
    let (loaded, lvm) = TextClassifier::load(&s, 10, &path, &CPU)?;
    let ids = tokens(4, 10, 40, Some(7))?;
    let a = model.forward_t(&ids, &mut Mode::Eval)?.to_vec2::<f32>()?;
    let b = loaded.forward_t(&ids, &mut Mode::Eval)?.to_vec2::<f32>()?;
    assert_eq!(a, b);
    assert_eq!(loaded.vars().len(), s.param_specs(10)?.len());
    assert_eq!(lvm.all_vars().len(), vm.all_vars().len());
    // vars() are the model's live parameters: changing one changes the logits.
    let v = &loaded.vars()[0];
    v.set(&v.as_tensor().affine(2.0, 0.1)?)?;
    let c = loaded.forward_t(&ids, &mut Mode::Eval)?;
    assert!(max_abs_diff(&c, &Tensor::new(a, &CPU)?)? > 1e-6);
    Ok(())
}

#[test]
fn load_errors_are_reported() -> TestResult {
    let dir = tempfile::tempdir()?;
    let s = model_spec()?;
    let path = dir.path().join("model.safetensors");
    let (_, vm) = TextClassifier::init(&s, 10, 7, &CPU)?;
    TextClassifier::save(&vm, &path)?;

    // Missing file.
    let missing = dir.path().join("nope.safetensors");
    match TextClassifier::load(&s, 10, &missing, &CPU) {
        Err(e @ Error::Io { .. }) => assert!(e.to_string().contains("nope.safetensors")),
        other => return Err(format!("expected Io, got {:?}", other.map(|_| ())).into()),
    }

    // Truncated file: an error, never a panic.
    let bytes = std::fs::read(&path)?;
    for cut in [0, 4, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        let truncated = dir.path().join(format!("cut{cut}.safetensors"));
        std::fs::write(&truncated, &bytes[..cut])?;
        match TextClassifier::load(&s, 10, &truncated, &CPU) {
            Err(e @ Error::Safetensors { .. }) => {
                assert!(e.to_string().contains(&format!("cut{cut}.safetensors")))
            }
            other => {
                return Err(format!(
                    "cut {cut}: expected Safetensors, got {:?}",
                    other.map(|_| ())
                )
                .into())
            }
        }
    }

    // Missing tensor: the file lacks the extra layer's weights.
    let bigger = spec(
        r#"[{"type": "embedding", "input_dim": 40, "output_dim": 8, "mask_zero": true},
            {"type": "bidirectional", "layer": {"type": "lstm", "units": 5, "return_sequences": true}},
            {"type": "gru", "units": 4},
            {"type": "dense", "units": 6, "activation": "relu"},
            {"type": "dropout", "rate": 0.2},
            {"type": "dense", "units": 3, "activation": "relu"},
            {"type": "dense", "units": 3, "activation": "softmax"}]"#,
    )?;
    match TextClassifier::load(&bigger, 10, &path, &CPU) {
        Err(e @ Error::MissingTensor { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("dense_2.kernel") && msg.contains("model.safetensors"),
                "{msg}"
            );
        }
        other => return Err(format!("expected MissingTensor, got {:?}", other.map(|_| ())).into()),
    }

    // Wrong shape: a wider embedding.
    let wider: ModelSpec = serde_json::from_str(
        &serde_json::to_string(&s)?.replace(r#""output_dim":8"#, r#""output_dim":9"#),
    )?;
    assert_ne!(wider, s);
    match TextClassifier::load(&wider, 10, &path, &CPU) {
        Err(Error::ShapeMismatch {
            name,
            expected,
            found,
            ..
        }) => {
            assert_eq!(name, "embedding.embeddings");
            assert_eq!((expected, found), (vec![40, 9], vec![40, 8]));
        }
        other => return Err(format!("expected ShapeMismatch, got {:?}", other.map(|_| ())).into()),
    }
    Ok(())
}

/// The weights file is written like every other run file: mode 0644, and a failure to publish
/// it is an error naming it.
#[test]
fn save_publishes_a_0644_file_and_names_it_on_failure() -> TestResult {
    let dir = tempfile::tempdir()?;
    let s = model_spec()?;
    let (_, vm) = TextClassifier::init(&s, 10, 7, &CPU)?;
    let path = dir.path().join("model.safetensors");
    TextClassifier::save(&vm, &path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o644
        );
    }
    // A file where the parent directory should be: nothing can be written there.
    let blocked = path.join("model.safetensors");
    match TextClassifier::save(&vm, &blocked) {
        Err(e @ Error::Save(_)) => {
            assert!(e.to_string().contains("model.safetensors"), "{e}")
        }
        other => return Err(format!("expected Save, got {other:?}").into()),
    }
    Ok(())
}
