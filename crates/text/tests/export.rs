//! `KerasTokenizer::export_hf`: the exported `tokenizer.json`, loaded by the Rust `tokenizers`
//! crate, gives textrnn's ids (cleaning, Keras tokenizer, OOV / dropped words, `num_words`,
//! padding and truncation on both sides).
#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use textrnn_text::{
    pad_sequences, EncodingSpec, Error, KerasTokenizer, Padding, Pipeline, Step, TokenizerConfig,
    Truncating, EXPORT_KEY,
};
use tokenizers::Tokenizer;

/// Texts that exercise every expressible cleaning step and the Keras filters.
const TEXTS: [&str; 8] = [
    "A great movie!<br /><br />Loved it. Zyxwvut qqqq",
    "see https://t.co/AbC?x=1 and WWW.united.com/bags, xhttp://www.foo.com stays",
    "Landed✈️ 👍🏽😂 on time, @united thanks #love me@x.com",
    "heyyyy guyyyys sooooo good!!! why??",
    "Fee: $200 + tax, it’s 6 hours… “late”",
    "ΟΔΥΣΣΕΥΣ ΑΣ. Été  \t  hot\u{3000}day",
    "",
    "the the the movie movie great",
];

/// Every step the normalizer can express, in the tutorial order.
fn expressible() -> Vec<Step> {
    Step::ALL
        .into_iter()
        .filter(|s| {
            !matches!(
                s,
                Step::HtmlEntities | Step::EmoticonsToWords | Step::ExpandContractions
            )
        })
        .collect()
}

/// Fits on TEXTS cleaned by `pipeline`.
fn fit(pipeline: &Pipeline, num_words: Option<usize>, oov: Option<&str>) -> KerasTokenizer {
    fit_on(pipeline, num_words, oov, &TEXTS)
}

fn fit_on(
    pipeline: &Pipeline,
    num_words: Option<usize>,
    oov: Option<&str>,
    texts: &[&str],
) -> KerasTokenizer {
    let cfg = TokenizerConfig {
        num_words,
        oov_token: oov.map(str::to_owned),
        ..Default::default()
    };
    KerasTokenizer::fit(&cfg, pipeline.apply_all(texts)).unwrap()
}

fn load(json: &str) -> Tokenizer {
    Tokenizer::from_str(json).unwrap()
}

fn hf_ids(tok: &Tokenizer, text: &str) -> Vec<u32> {
    tok.encode(text, false).unwrap().get_ids().to_vec()
}

/// For every combination of OOV token, `num_words`, padding and truncating side: without an
/// OOV token the file's ids minus the zeros are textrnn's sequence (the snippet pads them);
/// with one the file pads and truncates by itself to textrnn's row.
#[test]
fn exported_file_reproduces_textrnn_ids() {
    let pipeline = Pipeline::from_steps(expressible()).unwrap();
    let cleaned = pipeline.apply_all(&TEXTS);
    for oov in [None, Some("<OOV>")] {
        for num_words in [None, Some(6)] {
            let tok = fit(&pipeline, num_words, oov);
            let seqs = tok.texts_to_sequences(&cleaned);
            for (padding, truncating) in [
                (Padding::Pre, Truncating::Pre),
                (Padding::Pre, Truncating::Post),
                (Padding::Post, Truncating::Pre),
                (Padding::Post, Truncating::Post),
            ] {
                let spec = EncodingSpec {
                    maxlen: 4,
                    padding,
                    truncating,
                };
                let export = tok.export_hf(&pipeline, &spec).unwrap();
                assert!(export.unexpressed.is_empty());
                let hf = load(&export.tokenizer_json);
                for (i, text) in TEXTS.iter().enumerate() {
                    let ids = hf_ids(&hf, text);
                    let row = pad_sequences(&seqs[i..=i], 4, padding, truncating, 0).unwrap();
                    let case = format!("{oov:?} {num_words:?} {padding:?} {truncating:?} {text:?}");
                    if oov.is_some() {
                        assert_eq!(ids, row, "{case}");
                    } else {
                        let kept: Vec<u32> = ids.into_iter().filter(|&id| id != 0).collect();
                        assert_eq!(kept, seqs[i], "{case}");
                    }
                }
            }
        }
    }
}

/// The issue's example, pinned: textrnn drops the unknown words and strips the breaks.
#[test]
fn issue_example_pinned() {
    let pipeline = Pipeline::imdb().unwrap();
    let text = TEXTS[0];
    let texts = ["the the movie great", text];
    let tok = fit_on(&pipeline, None, None, &texts);
    // word_index: the=1, movie=2, great=3, a=4, loved=5, it=6, zyxwvut=7, qqqq=8
    assert_eq!(
        tok.text_to_sequence(&pipeline.apply(text)),
        [4, 3, 2, 5, 6, 7, 8]
    );
    let tok = fit_on(&pipeline, Some(7), None, &texts);
    let export = tok
        .export_hf(
            &pipeline,
            &EncodingSpec {
                maxlen: 8,
                padding: Padding::Pre,
                truncating: Truncating::Pre,
            },
        )
        .unwrap();
    // zyxwvut (7) and qqqq (8) are beyond num_words: 0 in the file, dropped by textrnn.
    assert_eq!(
        hf_ids(&load(&export.tokenizer_json), text),
        [4, 3, 2, 5, 6, 0, 0]
    );
    let row = tok.texts_to_sequences(&pipeline.apply_all(&[text]));
    assert_eq!(
        pad_sequences(&row, 8, Padding::Pre, Truncating::Pre, 0).unwrap(),
        [0, 0, 0, 4, 3, 2, 5, 6]
    );
}

#[test]
fn file_metadata_and_padding_settings() {
    let pipeline = Pipeline::imdb().unwrap();
    let spec = EncodingSpec {
        maxlen: 3,
        padding: Padding::Post,
        truncating: Truncating::Pre,
    };
    let plain = fit(&pipeline, None, None)
        .export_hf(&pipeline, &spec)
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&plain.tokenizer_json).unwrap();
    assert_eq!(
        json["model"][EXPORT_KEY],
        serde_json::json!({
            "format": 1, "maxlen": 3, "padding": "post", "truncating": "pre", "value": 0,
            "padded_in_file": false, "unknown_id": 0, "oov_token": null, "num_words": null,
            "cleaning": ["strip_html_breaks"], "unexpressed": [],
        })
    );
    assert!(json["padding"].is_null() && json["truncation"].is_null());

    let oov = fit(&pipeline, None, Some("<OOV>"))
        .export_hf(&pipeline, &spec)
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&oov.tokenizer_json).unwrap();
    assert_eq!(json["model"][EXPORT_KEY]["unknown_id"], 1);
    assert_eq!(json["truncation"]["direction"], "Left");
    assert_eq!(json["truncation"]["max_length"], 3);
    assert_eq!(json["padding"]["direction"], "Right");
    assert_eq!(json["padding"]["strategy"]["Fixed"], 3);
    // An unknown word is the OOV index 1; the row is cut at the front and padded at the back.
    let hf = load(&oov.tokenizer_json);
    let tok = fit(&pipeline, None, Some("<OOV>"));
    let (great, movie) = (tok.id("great").unwrap(), tok.id("movie").unwrap());
    assert_eq!(hf_ids(&hf, "zzz great movie"), [1, great, movie]);
    assert_eq!(hf_ids(&hf, "a zzz great movie"), [1, great, movie]);
    assert_eq!(hf_ids(&hf, "movie"), [movie, 0, 0]);
}

/// The tweets preset: the steps the normalizer cannot express are reported, in pipeline order,
/// and the cleaning description lists every step with its definition.
#[test]
fn tweets_report_unexpressed_steps() {
    let pipeline = Pipeline::tweets().unwrap();
    let tok = fit_on(
        &pipeline,
        None,
        None,
        &[TEXTS[2], TEXTS[3], "i can not fly sad"],
    );
    let spec = EncodingSpec {
        maxlen: 10,
        padding: Padding::Pre,
        truncating: Truncating::Pre,
    };
    let export = tok.export_hf(&pipeline, &spec).unwrap();
    assert_eq!(
        export.unexpressed,
        [
            Step::EmoticonsToWords,
            Step::HtmlEntities,
            Step::ExpandContractions
        ]
    );
    let cleaning: serde_json::Value = serde_json::from_str(&export.cleaning_json).unwrap();
    let steps = cleaning["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    let expected: Vec<&str> = Step::TWEETS.iter().map(|s| s.name()).collect();
    assert_eq!(names, expected);
    for step in steps {
        let expressed = step["in_normalizer"].as_bool().unwrap();
        assert_eq!(
            step["normalizers"].as_array().unwrap().is_empty(),
            !expressed
        );
        assert_eq!(step["unexpressed_because"].is_string(), !expressed);
        assert!(step["definition"]["kind"].is_string());
    }
    assert_eq!(
        steps[3]["definition"]["regex"],
        r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z][a-zA-Z0-9]{1,31}));"
    );
    assert_eq!(cleaning["encoding"]["maxlen"], 10);
    assert_eq!(
        cleaning["tokenizer"]["filters"],
        textrnn_text::KERAS_FILTERS
    );

    // A tweet the skipped steps leave alone gets textrnn's ids; one they change does not.
    let hf = load(&export.tokenizer_json);
    let same = "@united Landed✈️ heyyyy!!! #love https://t.co/x";
    let kept: Vec<u32> = hf_ids(&hf, same).into_iter().filter(|&i| i != 0).collect();
    assert_eq!(kept, tok.text_to_sequence(&pipeline.apply(same)));
    let changed = "I can't fly :(";
    let kept: Vec<u32> = hf_ids(&hf, changed)
        .into_iter()
        .filter(|&i| i != 0)
        .collect();
    assert_ne!(kept, tok.text_to_sequence(&pipeline.apply(changed)));
}

#[test]
fn char_level_and_no_cleaning() {
    let cfg = TokenizerConfig {
        char_level: true,
        ..Default::default()
    };
    let tok = KerasTokenizer::fit(&cfg, ["abca"]).unwrap();
    let pipeline = Pipeline::default();
    let spec = EncodingSpec {
        maxlen: 5,
        padding: Padding::Pre,
        truncating: Truncating::Post,
    };
    let export = tok.export_hf(&pipeline, &spec).unwrap();
    let ids = hf_ids(&load(&export.tokenizer_json), "A cd");
    // a=1, b=2, c=3; ` ` and `d` unknown (0, dropped by textrnn)
    assert_eq!(ids, [1, 0, 3, 0]);
    assert_eq!(tok.text_to_sequence("A cd"), [1, 3]);
}

#[test]
fn maxlen_zero_is_an_error() {
    let tok = KerasTokenizer::fit(&TokenizerConfig::default(), ["a"]).unwrap();
    let spec = EncodingSpec {
        maxlen: 0,
        padding: Padding::Pre,
        truncating: Truncating::Pre,
    };
    let err = tok.export_hf(&Pipeline::default(), &spec).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { ref field, .. } if field == "maxlen"));
}
