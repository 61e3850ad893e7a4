//! Class weights ([`ClassWeight`], Keras `class_weight`) and per-example weights.
//!
//! A recipe's `[train]` section may say `class_weight = "balanced"` or
//! `class_weight = { negative = 2.0, positive = 1.0 }` (keys are class names; a class not named
//! keeps weight 1, as in Keras). [`ClassWeight::resolve`] turns it into one weight per class
//! against the training split: "balanced" is `n_samples / (n_classes · count_c)` (scikit-learn's
//! and Keras' formula), so every class carries the same total weight. An example's weight is its
//! class weight times its sample weight ([`example_weights`]); the loss multiplies each example's
//! loss by it ([`crate::Loss::compute_weighted`]).
//!
//! ```
//! use textrnn_train::ClassWeight;
//! let names = ["neg".to_string(), "pos".to_string()];
//! // 8 + 2 examples: 10 / (2·8) = 0.625, 10 / (2·2) = 2.5
//! assert_eq!(ClassWeight::Balanced.resolve(&names, &[8, 2]).unwrap(), vec![0.625, 2.5]);
//! let cw: ClassWeight = serde_json::from_str(r#"{"pos": 3}"#).unwrap();
//! assert_eq!(cw.resolve(&names, &[8, 2]).unwrap(), vec![1.0, 3.0]);
//! ```

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// Keras `class_weight`: `"balanced"` or a weight per class name.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassWeight {
    /// `n_samples / (n_classes · count_c)` over the training split.
    Balanced,
    /// A weight per class name, in the order written; unnamed classes weigh 1.
    Manual(Vec<(String, f64)>),
}

impl ClassWeight {
    /// Checks what does not depend on the data: every weight finite and `>= 0`.
    pub fn validate(&self) -> Result<()> {
        if let ClassWeight::Manual(weights) = self {
            for (name, w) in weights {
                check_weight(name, *w)?;
            }
        }
        Ok(())
    }

    /// One weight per class (indexed like `class_names`) from the training split's class
    /// `counts`. Errors: a named class the data lacks (the message lists the classes it has), a
    /// weight that is negative or not finite, every weight 0. A class without training examples
    /// gets 0 under "balanced" (no example carries it).
    pub fn resolve(&self, class_names: &[String], counts: &[usize]) -> Result<Vec<f32>> {
        if counts.len() != class_names.len() {
            return Err(Error::Shape(format!(
                "class_weight: {} counts for {} classes",
                counts.len(),
                class_names.len()
            )));
        }
        let weights = match self {
            ClassWeight::Balanced => {
                let n: usize = counts.iter().sum();
                let c = class_names.len();
                counts
                    .iter()
                    .map(|&k| {
                        if k == 0 {
                            0.0
                        } else {
                            (n as f64 / (c as f64 * k as f64)) as f32
                        }
                    })
                    .collect()
            }
            ClassWeight::Manual(named) => {
                let mut weights = vec![1.0f32; class_names.len()];
                for (name, w) in named {
                    check_weight(name, *w)?;
                    let Some(i) = class_names.iter().position(|c| c == name) else {
                        return Err(Error::config(
                            "class_weight",
                            format!(
                                "class `{name}` is not in the data; its classes are: {}",
                                class_names.join(", ")
                            ),
                        ));
                    };
                    weights[i] = *w as f32;
                }
                weights
            }
        };
        if weights.iter().all(|&w| w == 0.0) {
            return Err(Error::config(
                "class_weight",
                "every class weight is 0: nothing would be learned",
            ));
        }
        Ok(weights)
    }

    /// `name = weight` per class, for logs (`negative=0.55, neutral=1.63`).
    pub fn describe(class_names: &[String], weights: &[f32]) -> String {
        class_names
            .iter()
            .zip(weights)
            .map(|(c, w)| format!("{c}={w:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A class weight must be a finite number `>= 0`.
fn check_weight(name: &str, w: f64) -> Result<()> {
    if !w.is_finite() || !(w as f32).is_finite() {
        return Err(Error::config(
            "class_weight",
            format!("the weight of `{name}` is not a finite number ({w})"),
        ));
    }
    if w < 0.0 {
        return Err(Error::config(
            "class_weight",
            format!("the weight of `{name}` is negative ({w}); weights must be >= 0"),
        ));
    }
    Ok(())
}

/// The weight of every example: `class_weights[label] × sample[i]`, either factor 1 when
/// absent; `None` when both are absent (an unweighted loss). Labels must index `class_weights`
/// ([`crate::EncodedSplit::check_labels`]); an out-of-range label gets weight 0.
pub fn example_weights(
    class_weights: Option<&[f32]>,
    labels: &[u32],
    sample: Option<&[f32]>,
) -> Option<Vec<f32>> {
    match (class_weights, sample) {
        (None, None) => None,
        (None, Some(s)) => Some(s.to_vec()),
        (Some(cw), s) => Some(
            labels
                .iter()
                .enumerate()
                .map(|(i, &l)| {
                    let c = cw.get(l as usize).copied().unwrap_or(0.0);
                    c * s.and_then(|s| s.get(i)).copied().unwrap_or(1.0)
                })
                .collect(),
        ),
    }
}

/// The command-line form (`--class-weight`): `balanced`, or `LABEL=W,LABEL=W` (a label may
/// not hold `=` or `,`; spaces around the parts are ignored).
impl std::str::FromStr for ClassWeight {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        if s == "balanced" {
            return Ok(ClassWeight::Balanced);
        }
        let mut weights: Vec<(String, f64)> = Vec::new();
        for part in s.split(',') {
            let Some((name, w)) = part.split_once('=') else {
                return Err(format!(
                    "`{}` is not LABEL=WEIGHT; use `balanced` or LABEL=W,LABEL=W",
                    part.trim()
                ));
            };
            let (name, w) = (name.trim(), w.trim());
            if name.is_empty() {
                return Err(format!("`{}` names no label", part.trim()));
            }
            let value: f64 = w
                .parse()
                .map_err(|_| format!("the weight of `{name}`, `{w}`, is not a number"))?;
            if weights.iter().any(|(n, _)| n == name) {
                return Err(format!("class `{name}` is given twice"));
            }
            weights.push((name.to_string(), value));
        }
        let cw = ClassWeight::Manual(weights);
        cw.validate().map_err(|e| match e {
            Error::InvalidConfig { reason, .. } => reason,
            other => other.to_string(),
        })?;
        Ok(cw)
    }
}

impl Serialize for ClassWeight {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ClassWeight::Balanced => serializer.serialize_str("balanced"),
            ClassWeight::Manual(weights) => {
                let mut map = serializer.serialize_map(Some(weights.len()))?;
                for (name, w) in weights {
                    map.serialize_entry(name, w)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ClassWeight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ClassWeight;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#""balanced" or a table of class name = weight"#)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<ClassWeight, E> {
                match v {
                    "balanced" => Ok(ClassWeight::Balanced),
                    other => Err(E::custom(format!(
                        r#"unknown class_weight `{other}`: use "balanced" or a table of class name = weight"#
                    ))),
                }
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<ClassWeight, A::Error> {
                let mut weights: Vec<(String, f64)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    let w: f64 = map.next_value()?;
                    if weights.iter().any(|(n, _)| *n == name) {
                        return Err(de::Error::custom(format!(
                            "class `{name}` is given twice in class_weight"
                        )));
                    }
                    weights.push((name, w));
                }
                Ok(ClassWeight::Manual(weights))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn balanced_weights_of_a_known_count_vector() {
        // the airline tweets' training counts: 9178 + 3099 + 2363 = 14640 examples, 3 classes
        let w = ClassWeight::Balanced
            .resolve(
                &names(&["negative", "neutral", "positive"]),
                &[9178, 3099, 2363],
            )
            .unwrap();
        // 14640 / (3·9178) = 0.531707..., 14640 / (3·3099) = 1.574701..., 14640 / (3·2363) = 2.065171...
        assert_eq!(
            w,
            vec![
                (14640.0f64 / 27534.0) as f32,
                (14640.0f64 / 9297.0) as f32,
                (14640.0f64 / 7089.0) as f32
            ]
        );
        assert!((w[0] - 0.531_707).abs() < 1e-6 && (w[2] - 2.065_171).abs() < 1e-6);
        // every class then carries the same total weight n / C
        // a class without examples gets 0: 4 / (3·2) each for the others
        let w = ClassWeight::Balanced
            .resolve(&names(&["a", "b", "c"]), &[2, 0, 2])
            .unwrap();
        assert_eq!(w, vec![(4.0f64 / 6.0) as f32, 0.0, (4.0f64 / 6.0) as f32]);
    }

    #[test]
    fn manual_weights_by_name_default_to_one() {
        // integers are weights too (TOML `positive = 2`)
        let cw: ClassWeight = serde_json::from_str(r#"{"positive": 2, "neutral": 0.5}"#).unwrap();
        assert_eq!(
            cw,
            ClassWeight::Manual(vec![("positive".into(), 2.0), ("neutral".into(), 0.5)])
        );
        let w = cw
            .resolve(&names(&["negative", "neutral", "positive"]), &[5, 5, 5])
            .unwrap();
        assert_eq!(w, vec![1.0, 0.5, 2.0]);
        // round trip through JSON keeps the written order
        let json = serde_json::to_string(&cw).unwrap();
        assert_eq!(json, r#"{"positive":2.0,"neutral":0.5}"#);
        assert_eq!(serde_json::from_str::<ClassWeight>(&json).unwrap(), cw);
        assert_eq!(
            serde_json::to_string(&ClassWeight::Balanced).unwrap(),
            r#""balanced""#
        );
    }

    #[test]
    fn bad_class_weights_are_refused_by_name() {
        let classes = names(&["neg", "pos"]);
        let e = ClassWeight::Manual(vec![("neutral".into(), 2.0)])
            .resolve(&classes, &[1, 1])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid training config `class_weight`: class `neutral` is not in the data; its classes are: neg, pos"
        );
        let e = ClassWeight::Manual(vec![("neg".into(), -1.0)])
            .validate()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid training config `class_weight`: the weight of `neg` is negative (-1); weights must be >= 0"
        );
        let e = ClassWeight::Manual(vec![("pos".into(), f64::NAN)])
            .validate()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid training config `class_weight`: the weight of `pos` is not a finite number (NaN)"
        );
        let e = ClassWeight::Manual(vec![("neg".into(), 0.0), ("pos".into(), 0.0)])
            .resolve(&classes, &[1, 1])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid training config `class_weight`: every class weight is 0: nothing would be learned"
        );
        let e = serde_json::from_str::<ClassWeight>(r#""balance""#).unwrap_err();
        assert!(
            e.to_string().contains("unknown class_weight `balance`"),
            "{e}"
        );
        let e = serde_json::from_str::<ClassWeight>(r#"{"neg": "a lot"}"#).unwrap_err();
        assert!(e.to_string().contains("expected f64"), "{e}");
        let e = serde_json::from_str::<ClassWeight>(r#"{"neg": 1, "neg": 2}"#).unwrap_err();
        assert!(e.to_string().contains("class `neg` is given twice"), "{e}");
    }

    #[test]
    fn command_line_form_parses_with_clear_errors() {
        assert_eq!("balanced".parse::<ClassWeight>(), Ok(ClassWeight::Balanced));
        assert_eq!(
            " negative=1, positive = 2.5".parse::<ClassWeight>(),
            Ok(ClassWeight::Manual(vec![
                ("negative".into(), 1.0),
                ("positive".into(), 2.5)
            ]))
        );
        let err = |s: &str| s.parse::<ClassWeight>().unwrap_err();
        assert_eq!(
            err("balance"),
            "`balance` is not LABEL=WEIGHT; use `balanced` or LABEL=W,LABEL=W"
        );
        assert_eq!(
            err("pos=lots"),
            "the weight of `pos`, `lots`, is not a number"
        );
        assert_eq!(err("=2"), "`=2` names no label");
        assert_eq!(err("a=1,a=2"), "class `a` is given twice");
        assert_eq!(
            err("a=-1"),
            "the weight of `a` is negative (-1); weights must be >= 0"
        );
        assert_eq!(
            err("a=inf"),
            "the weight of `a` is not a finite number (inf)"
        );
    }

    #[test]
    fn example_weights_multiply_class_and_sample_weights() {
        let labels = [0u32, 1, 1, 0];
        assert_eq!(example_weights(None, &labels, None), None);
        let cw = [0.5f32, 2.0];
        let sw = [1.0f32, 0.0, 3.0, 2.0];
        assert_eq!(
            example_weights(Some(&cw), &labels, None),
            Some(vec![0.5, 2.0, 2.0, 0.5])
        );
        assert_eq!(example_weights(None, &labels, Some(&sw)), Some(sw.to_vec()));
        // 0.5·1, 2·0, 2·3, 0.5·2
        assert_eq!(
            example_weights(Some(&cw), &labels, Some(&sw)),
            Some(vec![0.5, 0.0, 6.0, 1.0])
        );
    }
}
