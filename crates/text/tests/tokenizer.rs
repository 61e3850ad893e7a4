//! Behaviour of `KerasTokenizer`: Keras-pinned indices and sequences, OOV and `num_words`
//! semantics, save/load, and the round trip through Hugging Face `tokenizers`.
#![allow(clippy::unwrap_used)]

use textrnn_text::{
    pad_sequences, Error, KerasTokenizer, Padding, TokenizerConfig, Truncating, KERAS_FILTERS,
};

const AIRLINE: [&str; 5] = [
    "Well done!",
    "Good work",
    "Great effort",
    "nice work",
    "Excellent!",
];
const AIRLINE_TEST: [&str; 3] = ["Excellent!", "Good job bro, keep hard work", "well done"];

fn cfg(num_words: Option<usize>, oov: Option<&str>) -> TokenizerConfig {
    TokenizerConfig {
        num_words,
        oov_token: oov.map(str::to_owned),
        ..Default::default()
    }
}

/// Keras: `Tokenizer(num_words=4); fit_on_texts(AIRLINE)`; `word_index` is
/// {'work': 1, 'well': 2, 'done': 3, 'good': 4, 'great': 5, 'effort': 6, 'nice': 7, 'excellent': 8}
/// and `pad_sequences(texts_to_sequences(AIRLINE_TEST), maxlen=5)` is
/// [[0,0,0,0,0],[0,0,0,0,1],[0,0,0,2,3]].
#[test]
fn airline_tutorial_pinned() {
    let tok = KerasTokenizer::fit(&cfg(Some(4), None), AIRLINE).unwrap();
    let expected = [
        "work",
        "well",
        "done",
        "good",
        "great",
        "effort",
        "nice",
        "excellent",
    ];
    assert_eq!(tok.words(), expected);
    for (i, w) in expected.iter().enumerate() {
        assert_eq!(tok.word_index()[*w], i as u32 + 1);
        assert_eq!(tok.id(w), Some(i as u32 + 1));
        assert_eq!(tok.index_word(i as u32 + 1), Some(*w));
    }
    assert_eq!(tok.index_word(0), None);
    assert_eq!(tok.index_word(9), None);
    assert_eq!(tok.word_count("work"), Some(2));
    assert_eq!(tok.document_count(), 5);
    assert_eq!(tok.vocab_size(), 4);

    let seqs = tok.texts_to_sequences(&AIRLINE_TEST);
    assert_eq!(seqs, vec![vec![], vec![1], vec![2, 3]]);
    let padded = pad_sequences(&seqs, 5, Padding::Pre, Truncating::Pre, 0).unwrap();
    assert_eq!(
        padded,
        [0, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 1, /**/ 0, 0, 0, 2, 3]
    );
}

/// Keras with `oov_token="<OOV>"`: index 1 is the OOV token, words shift by one; a word with
/// index >= num_words and an unknown word both become 1.
#[test]
fn oov_token_semantics() {
    let tok = KerasTokenizer::fit(&cfg(Some(4), Some("<OOV>")), AIRLINE).unwrap();
    assert_eq!(tok.words()[..4], ["<OOV>", "work", "well", "done"]);
    assert_eq!(tok.word_count("<OOV>"), Some(0));
    assert_eq!(tok.vocab_size(), 4);
    assert_eq!(
        tok.texts_to_sequences(&AIRLINE_TEST),
        // excellent=9 -> 1; good=5 -> 1, job/bro/keep/hard unknown -> 1, work=2; well=3, done=4 -> 1
        vec![vec![1], vec![1, 1, 1, 1, 1, 2], vec![3, 1]]
    );

    let all = KerasTokenizer::fit(&cfg(None, Some("<OOV>")), AIRLINE).unwrap();
    assert_eq!(all.vocab_size(), 10);
    assert_eq!(
        all.texts_to_sequences(&AIRLINE_TEST),
        vec![vec![9], vec![5, 1, 1, 1, 1, 2], vec![3, 4]]
    );
}

#[test]
fn oov_word_in_texts_keeps_index_one() {
    let tok = KerasTokenizer::fit(&cfg(None, Some("oov")), ["a oov oov b"]).unwrap();
    assert_eq!(tok.words(), ["oov", "a", "b"]);
    assert_eq!(tok.text_to_sequence("oov c b"), [1, 1, 3]);
}

/// Ties keep first-seen order (Keras' stable sort), not alphabetical order (HF's trainer).
#[test]
fn ties_break_by_first_appearance() {
    let tok = KerasTokenizer::fit(&cfg(None, None), ["zeta beta", "alpha beta"]).unwrap();
    assert_eq!(tok.words(), ["beta", "zeta", "alpha"]);
}

#[test]
fn num_words_drops_rare_words_without_oov() {
    let tok = KerasTokenizer::fit(&cfg(Some(3), None), ["a a a b b c"]).unwrap();
    assert_eq!(tok.vocab_size(), 3);
    assert_eq!(tok.text_to_sequence("c b a d"), [2, 1]);
    let big = KerasTokenizer::fit(&cfg(Some(1000), None), ["a b"]).unwrap();
    assert_eq!(big.vocab_size(), 3);
}

#[test]
fn fit_accepts_strings_and_rejects_bad_config() {
    let owned = vec![String::from("x y"), String::from("y")];
    let tok = KerasTokenizer::fit(&TokenizerConfig::default(), &owned).unwrap();
    assert_eq!(tok.texts_to_sequences(&owned), vec![vec![2, 1], vec![1]]);
    let err = KerasTokenizer::fit(&cfg(Some(0), None), &owned).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { ref field, .. } if field == "num_words"));
}

#[test]
fn save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.json");
    for config in [
        cfg(Some(4), None),
        cfg(Some(4), Some("<OOV>")),
        cfg(None, None),
    ] {
        let tok = KerasTokenizer::fit(&config, AIRLINE).unwrap();
        tok.save(&path).unwrap();
        let back = KerasTokenizer::load(&path).unwrap();
        assert_eq!(back.config(), tok.config());
        assert_eq!(back.words(), tok.words());
        assert_eq!(back.word_index(), tok.word_index());
        assert_eq!(back.word_count("work"), Some(2));
        assert_eq!(back.document_count(), 5);
        assert_eq!(back.vocab_size(), tok.vocab_size());
        assert_eq!(back.pad_token(), tok.pad_token());
        assert_eq!(
            back.texts_to_sequences(&AIRLINE_TEST),
            tok.texts_to_sequences(&AIRLINE_TEST)
        );
    }
    // Only the final file: the temporary one was renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let err = KerasTokenizer::load(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().contains("missing.json"), "{err}");

    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, "{ not json").unwrap();
    let err = KerasTokenizer::load(&corrupt).unwrap_err();
    assert!(matches!(err, Error::Json { .. }));
    assert!(err.to_string().contains("corrupt.json"), "{err}");

    // A plain HF tokenizer.json (no `model.textrnn` section).
    let plain = dir.path().join("plain.json");
    let tok = KerasTokenizer::fit(&TokenizerConfig::default(), AIRLINE).unwrap();
    tok.to_hf().unwrap().save(&plain, false).unwrap();
    let err = KerasTokenizer::load(&plain).unwrap_err();
    assert!(matches!(err, Error::Format { .. }));
    assert!(err.to_string().contains("plain.json"), "{err}");

    // A malformed `textrnn` section.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"model": {"textrnn": {"format": 1}}}"#).unwrap();
    let err = KerasTokenizer::load(&bad).unwrap_err();
    assert!(err.to_string().contains("bad.json"), "{err}");
}

/// Texts that exercise the normalizer and pre-tokenizer: case, every default filter, tabs,
/// newlines, runs of separators, non-ASCII letters, apostrophes (not a Keras filter), emoji.
const TRICKY: [&str; 8] = [
    "Hello, World!\tIt's  a--test\n",
    "ÉCOLE école Straße İstanbul",
    "  leading and trailing  ",
    "a.b,c;d:e!f?g(h)i[j]k{l}m<n>o|p~q`r^s_t@u#v$w%x&y*z+0=1/2\\3\"4",
    "emoji 😀 stays as a word😀",
    "",
    "!!! ,,, ...",
    "mixed\r\nline endings\u{a0}nbsp",
];

/// Unseen texts for the unknown-word path.
const UNSEEN: [&str; 3] = [
    "Hello stranger, it's a TEST",
    "completely new words",
    "école world 😀",
];

/// HF ids equal ours with an OOV token; without one, HF gives 0 where Keras drops the word.
fn assert_hf_matches(tok: &KerasTokenizer, texts: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.json");
    tok.save(&path).unwrap();
    let hf = tokenizers::Tokenizer::from_file(&path).unwrap();
    let ours = tok.texts_to_sequences(texts);
    let encodings = hf.encode_batch(texts.to_vec(), false).unwrap();
    for ((text, enc), keras) in texts.iter().zip(&encodings).zip(&ours) {
        let ids = enc.get_ids();
        if tok.config().oov_token.is_some() {
            assert_eq!(ids, keras.as_slice(), "{text:?} with {:?}", tok.config());
        } else {
            let kept: Vec<u32> = ids.iter().copied().filter(|&id| id != 0).collect();
            assert_eq!(&kept, keras, "{text:?} with {:?}", tok.config());
        }
    }
}

#[test]
fn hf_round_trip_default_config() {
    for config in [
        cfg(None, None),
        cfg(Some(4), None),
        cfg(None, Some("<OOV>")),
        cfg(Some(6), Some("<OOV>")),
    ] {
        let tok = KerasTokenizer::fit(&config, TRICKY).unwrap();
        assert_hf_matches(&tok, &TRICKY);
        assert_hf_matches(&tok, &UNSEEN);
        assert_hf_matches(&tok, &AIRLINE_TEST);
    }
}

#[test]
fn hf_round_trip_pinned_airline_ids() {
    let tok = KerasTokenizer::fit(&cfg(Some(4), None), AIRLINE).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.json");
    tok.save(&path).unwrap();
    let hf = tokenizers::Tokenizer::from_file(&path).unwrap();
    // HF vocab: [PAD]=0 plus the indices below num_words; unknown and rare words encode to 0.
    assert_eq!(hf.get_vocab_size(false), 4);
    assert_eq!(hf.token_to_id("[PAD]"), Some(0));
    assert_eq!(hf.token_to_id("good"), None);
    let ids = |t: &str| hf.encode(t, false).unwrap().get_ids().to_vec();
    assert_eq!(ids("Good job bro, keep hard work"), [0, 0, 0, 0, 0, 1]);
    assert_eq!(ids("well done"), [2, 3]);
    // Our metadata sits beside the HF fields.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["model"]["type"], "WordLevel");
    assert_eq!(json["model"]["unk_token"], "[PAD]");
    assert_eq!(json["model"]["textrnn"]["config"]["num_words"], 4);
    assert_eq!(
        json["model"]["textrnn"]["word_counts"][0],
        serde_json::json!(["work", 2])
    );
}

#[test]
fn hf_round_trip_custom_configs() {
    let configs = [
        TokenizerConfig {
            lower: false,
            ..Default::default()
        },
        TokenizerConfig {
            filters: String::new(),
            ..Default::default()
        },
        TokenizerConfig {
            lower: false,
            filters: String::new(),
            oov_token: Some("[PAD]".into()),
            ..Default::default()
        },
        TokenizerConfig {
            filters: format!("{KERAS_FILTERS}éß'"),
            split: "--".into(),
            ..Default::default()
        },
        TokenizerConfig {
            split: ",".into(),
            oov_token: Some("?".into()),
            ..Default::default()
        },
        TokenizerConfig {
            char_level: true,
            ..Default::default()
        },
        TokenizerConfig {
            char_level: true,
            num_words: Some(8),
            oov_token: Some("<OOV>".into()),
            ..Default::default()
        },
    ];
    for config in configs {
        let tok = KerasTokenizer::fit(&config, TRICKY).unwrap();
        assert_hf_matches(&tok, &TRICKY);
        assert_hf_matches(&tok, &UNSEEN);
    }
}

#[test]
fn pad_token_is_never_a_producible_word() {
    let raw = TokenizerConfig {
        lower: false,
        filters: String::new(),
        ..Default::default()
    };
    let tok = KerasTokenizer::fit(&raw, ["[PAD] is a word here"]).unwrap();
    assert_eq!(tok.pad_token(), "[PAD] ");
    assert_eq!(tok.id("[PAD]"), Some(1));
    assert_hf_matches(&tok, &["[PAD] x"]);
}

/// Speed check on an IMDB-sized corpus (25,000 texts of ~230 words). Run with
/// `cargo test -p textrnn-text --release -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release"]
fn imdb_sized_corpus_speed() {
    let vocab: Vec<String> = (0..20_000).map(|i| format!("w{i}")).collect();
    let mut state = 42u64;
    let texts: Vec<String> = (0..25_000)
        .map(|_| {
            (0..230)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let w = &vocab[((state >> 33) % vocab.len() as u64) as usize];
                    if state.is_multiple_of(7) {
                        format!("{}, ", w.to_uppercase())
                    } else {
                        format!("{w} ")
                    }
                })
                .collect()
        })
        .collect();
    let start = std::time::Instant::now();
    let tok = KerasTokenizer::fit(&cfg(Some(10_000), None), &texts).unwrap();
    let fit = start.elapsed();
    let start = std::time::Instant::now();
    let seqs = tok.texts_to_sequences(&texts);
    let encode = start.elapsed();
    let start = std::time::Instant::now();
    let hf = tok.to_hf().unwrap();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let hf_ids = hf.encode_batch(refs, false).unwrap();
    let hf_time = start.elapsed();
    println!(
        "fit {fit:?}, texts_to_sequences {encode:?}, HF encode_batch {hf_time:?} ({} texts, {} ids)",
        texts.len(),
        seqs.iter().map(Vec::len).sum::<usize>()
    );
    assert_eq!(hf_ids.len(), seqs.len());
}
