//! `config.json` read back: every configuration round-trips, and every invalid field is
//! rejected with a message that names it.

use hdlgen::{AccelConfig, ConfigError, ConfigFile, PRESETS};

fn written(config: AccelConfig, preset: Option<&'static str>) -> serde_json::Value {
    serde_json::from_str(&ConfigFile::new(config, preset).to_json()).unwrap()
}

fn read(json: &serde_json::Value) -> Result<AccelConfig, ConfigError> {
    ConfigFile::read(&json.to_string())
}

fn with_field(json: &serde_json::Value, field: &str, value: serde_json::Value) -> serde_json::Value {
    let mut json = json.clone();
    json[field] = value;
    json
}

#[test]
fn every_config_round_trips() {
    for p in PRESETS {
        assert_eq!(ConfigFile::read(&ConfigFile::new(p.config, Some(p.name)).to_json()), Ok(p.config));
        // The same parameters written as a custom shape.
        assert_eq!(ConfigFile::read(&ConfigFile::new(p.config, None).to_json()), Ok(p.config));
    }
    let custom = AccelConfig::new(8, 32, 1024, 512, 128, 8).unwrap();
    assert_eq!(ConfigFile::read(&ConfigFile::new(custom, None).to_json()), Ok(custom));
}

#[test]
fn every_invalid_field_is_named() {
    let small = PRESETS.iter().find(|p| p.name == "small").unwrap();
    let base = written(small.config, Some("small"));
    let with = |field: &str, value: serde_json::Value| with_field(&base, field, value);
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (with("rows", 1.into()), "rows"),
        (with("cols", "four".into()), "'cols' must be a whole number"),
        (with("port_bits", 100.into()), "port_bits must be a power of two"),
        (with("a_depth", (-16).into()), "'a_depth' must be a whole number"),
        (with("b_depth", 8.into()), "b_depth"),
        (with("queue_depth", 3.into()), "queue_depth"),
        (with("split_bits", 7.into()), "'split_bits' is 7"),
        (with("top", "accel_8x8".into()), "'top' is \"accel_8x8\""),
        (with("scratchpad_word_bits", 128.into()), "scratchpad_word_bits"),
        (with("preset", "dacapo".into()), "'preset' is \"dacapo\""),
        (with("colz", 4.into()), "unknown field 'colz'"),
    ];
    for (json, want) in cases {
        let error = read(&json).unwrap_err().to_string();
        assert!(error.contains(want), "{error:?} should say {want:?}");
    }
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("queue_depth");
    assert_eq!(read(&missing), Err(ConfigError::MissingField("queue_depth".into())));
    assert_eq!(read(&missing).unwrap_err().to_string(), "config.json has no 'queue_depth'");
    assert!(ConfigFile::read("[1, 2]").unwrap_err().to_string().contains("one JSON object"));
    assert!(ConfigFile::read("{").unwrap_err().to_string().contains("not JSON"));
    let wrapped = read(&with_field(&base, "port_bits", 100.into())).unwrap_err();
    let inner = ConfigError::NotPowerOfTwo { name: "port_bits", lo: 64, hi: 4096, got: 100 };
    assert_eq!(wrapped, ConfigError::InvalidParameter(Box::new(inner)));
}

#[test]
fn the_generator_version_may_differ() {
    let small = PRESETS.iter().find(|p| p.name == "small").unwrap();
    let mut json = written(small.config, Some("small"));
    json["generator"] = "dacapo hdlgen 0.0.1".into();
    assert_eq!(read(&json), Ok(small.config));
}

/// The DPE is read from `pipeline.dpe`: a custom one round-trips, and each of its invalid
/// fields, and a DPE the accelerator cannot take, is named.
#[test]
fn the_dpe_reads_back_from_the_pipeline() {
    use hdlgen::dpe::DpeConfig;
    let custom = AccelConfig::new(4, 4, 512, 256, 512, 4)
        .unwrap()
        .with_dpe(DpeConfig::new(6, 2, 2, 4).unwrap())
        .unwrap();
    assert_eq!(ConfigFile::read(&ConfigFile::new(custom, None).to_json()), Ok(custom));
    let base = written(custom, None);
    let with_dpe = |field: &str, value: serde_json::Value| {
        let mut json = base.clone();
        json["pipeline"]["dpe"][field] = value;
        json
    };
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (with_dpe("interleave", 3.into()), "interleave must be in 4..=16 with 4 add stages"),
        (with_dpe("add_stages", 9.into()), "add_stages must be 1 to 5, got 9"),
        (with_dpe("slice_stages", "two".into()), "'pipeline.dpe.slice_stages' must be a whole number"),
    ];
    for (json, want) in cases {
        let error = read(&json).unwrap_err().to_string();
        assert!(error.contains(want), "{error:?} should say {want:?}");
    }
    // The pipeline's derived fields may be left out, and are checked when given.
    let mut dpe_only = base.clone();
    dpe_only["pipeline"] = serde_json::json!({ "dpe": base["pipeline"]["dpe"].clone() });
    assert_eq!(read(&dpe_only), Ok(custom));
    let mut stale = base.clone();
    stale["pipeline"]["drain_delay"] = 4.into();
    assert!(read(&stale)
        .unwrap_err()
        .to_string()
        .contains("'pipeline.drain_delay' is 4, but the parameters give 8"));
    let mut unknown = base.clone();
    unknown["pipeline"]["depth"] = 4.into();
    assert_eq!(read(&unknown), Err(ConfigError::UnknownField("pipeline.depth".into())));
    let wide =
        AccelConfig::new(4, 16, 512, 256, 512, 4).unwrap().with_dpe(DpeConfig::new(6, 2, 2, 4).unwrap());
    let mut wide = written(wide.unwrap(), None);
    wide["pipeline"]["dpe"]["interleave"] = 16.into();
    assert!(read(&wide).unwrap_err().to_string().contains("a tile is interleave x cols = 16 x 16 columns"));
    // Without a DPE it is the presets' (the other derived fields dropped too); a DPE named
    // in part is an error.
    let mut params = serde_json::Map::new();
    for name in ["rows", "cols", "port_bits", "a_depth", "b_depth", "queue_depth"] {
        params.insert(name.into(), base[name].clone());
    }
    assert_eq!(
        read(&serde_json::Value::Object(params)),
        Ok(AccelConfig { dpe: DpeConfig::SINGLE, ..custom })
    );
    let mut partial = base.clone();
    partial["pipeline"]["dpe"].as_object_mut().unwrap().remove("interleave");
    assert_eq!(read(&partial), Err(ConfigError::MissingField("pipeline.dpe.interleave".into())));
    let small_b = AccelConfig::new(4, 4, 512, 256, 16, 4).unwrap();
    assert_eq!(
        small_b.with_dpe(DpeConfig::new(9, 1, 1, 1).unwrap()).unwrap_err().to_string(),
        "b_depth 16 is too small for interleave 9: half of it must hold a K step's 9 words; use b_depth 32 or more"
    );
}
