//! Brine's wire pieces against real Salt 3007.8 (`salt.crypt`,
//! `salt.payload` in `.salt-venv`), in both directions: payload bytes
//! identical to `salt.payload.dumps`, Salt's Crypticle messages decrypted
//! by Brine and Brine's by Salt, RSA-OAEP and PKCS#1 v1.5 signatures with
//! SHA-1 and SHA-224 both ways, key files read by each side.

use brine_core::value::Value;
use brine_core::wire::crypticle::Crypticle;
use brine_core::wire::keys::{EncAlgo, PrivateKey, PublicKey, SigAlgo};
use brine_core::wire::payload;
use std::path::{Path, PathBuf};
use std::process::Command;

fn venv_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let py = root.join(".salt-venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/test.sh, which installs the reference Salt",
        py.display()
    );
    py
}

fn python(script: &str) -> serde_json::Value {
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(script)
        .output()
        .expect("run Salt's python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

const OBJ: &str = r#"{"enc": "aes", "load": {"cmd": "_return", "id": "minion-1", "jid": "20261129012345678901", "return": {"a": [1, -2, 70000, -70000, 4294967296, 2.5, null, true, false, "x"], "long": "%s"}, "retcode": 0}}"#;

#[test]
fn wire_interop_with_salt() {
    let dir = std::env::temp_dir().join(format!("brine-wire-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let long = "y".repeat(300);
    let obj_json = OBJ.replace("%s", &long);
    // 1. Salt makes keys, a session key and messages.
    let script = format!(
        r#"
import json, salt.crypt, salt.payload, salt.utils.crypt
d = {dir:?}
salt.crypt.gen_keys(d, "master", 2048)
key = salt.crypt.Crypticle.generate_key_string()
c = salt.crypt.Crypticle({{}}, key)
obj = json.loads({obj_json:?})
priv = salt.crypt.PrivateKey(d + "/master.pem")
pub = salt.crypt.PublicKey(d + "/master.pub")
out = {{
  "key": key,
  "payload": salt.payload.dumps(obj).hex(),
  "ct": c.dumps(obj).hex(),
  "ct_nonce": c.dumps(obj, nonce="0123456789abcdef0123456789abcdef").hex(),
  "finger": salt.utils.crypt.pem_finger(d + "/master.pub", sum_type="sha256"),
}}
for a in ("OAEP-SHA1", "OAEP-SHA224"):
    out["enc-" + a] = pub.encrypt(b"session-secret", a).hex()
for a in ("PKCS1v15-SHA1", "PKCS1v15-SHA224"):
    out["sig-" + a] = priv.sign(b"signed message", a).hex()
print(json.dumps(out))
"#,
        dir = dir.display().to_string(),
    );
    let salt = python(&script);
    let obj = Value::from_json(&serde_json::from_str(&obj_json).unwrap());

    // Payload bytes are identical to salt.payload.dumps.
    assert_eq!(
        hex(&payload::dumps(&obj)),
        salt["payload"].as_str().unwrap()
    );
    assert_eq!(
        payload::loads(&unhex(salt["payload"].as_str().unwrap())).unwrap(),
        obj
    );

    // Brine reads Salt's key files and session key.
    let priv_key = PrivateKey::read(&dir.join("master.pem")).unwrap();
    let pub_key = PublicKey::read(&dir.join("master.pub")).unwrap();
    assert!(priv_key.public_key() == pub_key);
    // The fingerprint salt-key prints and master_finger pins.
    let pub_text = std::fs::read_to_string(dir.join("master.pub")).unwrap();
    assert_eq!(
        brine_core::wire::keys::pem_finger(&pub_text),
        salt["finger"].as_str().unwrap()
    );
    let c = Crypticle::new(salt["key"].as_str().unwrap(), 192).unwrap();
    assert_eq!(
        c.loads(&unhex(salt["ct"].as_str().unwrap()), None).unwrap(),
        obj
    );
    let n = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        c.loads(&unhex(salt["ct_nonce"].as_str().unwrap()), Some(n))
            .unwrap(),
        obj
    );
    for (name, algo) in [
        ("OAEP-SHA1", EncAlgo::OaepSha1),
        ("OAEP-SHA224", EncAlgo::OaepSha224),
    ] {
        let ct = unhex(salt[format!("enc-{name}")].as_str().unwrap());
        assert_eq!(priv_key.decrypt(&ct, algo).unwrap(), b"session-secret");
    }
    for (name, algo) in [
        ("PKCS1v15-SHA1", SigAlgo::Pkcs1v15Sha1),
        ("PKCS1v15-SHA224", SigAlgo::Pkcs1v15Sha224),
    ] {
        let sig = unhex(salt[format!("sig-{name}")].as_str().unwrap());
        assert!(pub_key.verify(b"signed message", &sig, algo), "{name}");
        // PKCS#1 v1.5 signatures are deterministic: byte-identical.
        assert_eq!(
            hex(&priv_key.sign(b"signed message", algo).unwrap()),
            hex(&sig)
        );
    }

    // 2. Brine makes keys and messages; Salt reads them.
    let bdir = dir.join("brine");
    std::fs::create_dir_all(&bdir).unwrap();
    let bkey = brine_core::wire::keys::gen_keys(&bdir, "minion", 2048).unwrap();
    let bc = Crypticle::generate(192);
    let mut vectors = serde_json::Map::new();
    vectors.insert("key".into(), bc.key_string.clone().into());
    vectors.insert("ct".into(), hex(&bc.dumps(&obj, None)).into());
    vectors.insert("ct_nonce".into(), hex(&bc.dumps(&obj, Some(n))).into());
    for algo in [EncAlgo::OaepSha1, EncAlgo::OaepSha224] {
        let ct = pub_key.encrypt(b"from brine", algo).unwrap();
        vectors.insert(format!("enc-{}", algo.name()), hex(&ct).into());
    }
    for algo in [SigAlgo::Pkcs1v15Sha1, SigAlgo::Pkcs1v15Sha224] {
        let sig = bkey.sign(b"brine signed", algo).unwrap();
        vectors.insert(format!("sig-{}", algo.name()), hex(&sig).into());
    }
    let vectors = serde_json::Value::Object(vectors).to_string();
    let script = format!(
        r#"
import json, salt.crypt
d = {dir:?}
v = json.loads({vectors:?})
c = salt.crypt.Crypticle({{}}, v["key"])
priv = salt.crypt.PrivateKey(d + "/master.pem")
bpub = salt.crypt.PublicKey(d + "/brine/minion.pub")
bpriv = salt.crypt.PrivateKey(d + "/brine/minion.pem")
out = {{
  "obj": c.loads(bytes.fromhex(v["ct"])),
  "obj_nonce": c.loads(bytes.fromhex(v["ct_nonce"]), nonce="0123456789abcdef0123456789abcdef"),
  "same_pub": bpriv.key.public_key().public_numbers() == bpub.key.public_numbers(),
}}
for a in ("OAEP-SHA1", "OAEP-SHA224"):
    out["dec-" + a] = priv.decrypt(bytes.fromhex(v["enc-" + a]), a).decode()
for a in ("PKCS1v15-SHA1", "PKCS1v15-SHA224"):
    out["ver-" + a] = bpub.verify(b"brine signed", bytes.fromhex(v["sig-" + a]), a)
print(json.dumps(out))
"#,
        dir = dir.display().to_string(),
    );
    let back = python(&script);
    let want: serde_json::Value = serde_json::from_str(&obj_json).unwrap();
    assert_eq!(back["obj"], want);
    assert_eq!(back["obj_nonce"], want);
    assert_eq!(back["same_pub"], true);
    for a in ["OAEP-SHA1", "OAEP-SHA224"] {
        assert_eq!(back[format!("dec-{a}")], "from brine");
    }
    for a in ["PKCS1v15-SHA1", "PKCS1v15-SHA224"] {
        assert_eq!(back[format!("ver-{a}")], true, "{a}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
