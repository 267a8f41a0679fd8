use super::*;

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn authenticator() -> (Authenticator, String) {
    let (token, digest) = secret::new_token();
    let text = serde_json::json!({"principals": [
        {"name": "admin", "password": secret::hash_password("s3cret")},
        {"name": "dash", "password": secret::hash_password("pw"), "tables": ["trades_REALTIME", "quotes"], "permissions": ["read"]},
        {"name": "prom", "token": digest, "permissions": ["METRICS"]},
    ]})
    .to_string();
    (Authenticator::new(file::parse(&text).unwrap()), token)
}

#[test]
fn passwords_and_tokens_authenticate_and_others_do_not() {
    let (auth, token) = authenticator();
    let admin = auth.authenticate(Some(&basic("admin", "s3cret"))).unwrap();
    assert!(admin.is_admin());
    let dash = auth.authenticate(Some(&basic("dash", "pw"))).unwrap();
    assert!(!dash.is_admin());
    let prom = auth.authenticate(Some(&format!("Bearer {token}"))).unwrap();
    assert_eq!(prom.name, "prom");

    assert_eq!(auth.authenticate(None), Err(AuthError::Missing));
    assert_eq!(
        auth.authenticate(Some(&basic("admin", "wrong"))),
        Err(AuthError::BadPassword)
    );
    assert_eq!(
        auth.authenticate(Some(&basic("nobody", "s3cret"))),
        Err(AuthError::BadPassword)
    );
    assert_eq!(
        auth.authenticate(Some("Bearer gmy_0000")),
        Err(AuthError::BadToken)
    );
    // A token is not a password, nor a password a token.
    assert_eq!(
        auth.authenticate(Some(&basic("prom", &token))),
        Err(AuthError::BadPassword)
    );
    assert!(matches!(
        auth.authenticate(Some("Digest abc")),
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        auth.authenticate(Some("Basic !!!")),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn verified_credentials_are_cached_and_wrong_ones_are_not() {
    let (auth, _) = authenticator();
    let header = basic("dash", "pw");
    assert!(auth.cached(&header).is_none());
    auth.authenticate(Some(&header)).unwrap();
    assert_eq!(auth.cached(&header).unwrap().name, "dash");
    let wrong = basic("dash", "pw2");
    assert!(auth.authenticate(Some(&wrong)).is_err());
    assert!(auth.cached(&wrong).is_none());
}

#[test]
fn permissions_and_tables_follow_pinot() {
    let (auth, token) = authenticator();
    let dash = auth.authenticate(Some(&basic("dash", "pw"))).unwrap();
    assert!(dash.may(Permission::Read, Some("trades")));
    assert!(dash.may(Permission::Read, Some("trades_OFFLINE")));
    assert!(dash.may(Permission::Read, Some("quotes_REALTIME")));
    assert!(!dash.may(Permission::Read, Some("orders")));
    assert!(!dash.may(Permission::Read, None));
    assert!(!dash.may(Permission::Create, Some("trades")));
    assert!(!dash.has(Permission::Metrics));

    let prom = auth.authenticate(Some(&format!("Bearer {token}"))).unwrap();
    assert!(prom.may(Permission::Metrics, None));
    assert!(!prom.may(Permission::Read, Some("trades")));

    let anonymous = Principal::anonymous();
    assert!(anonymous.is_admin());
    assert!(anonymous.may(Permission::Delete, None));
}

#[test]
fn bad_files_are_refused_with_the_principal_named() {
    let cases = [
        (r#"{"principals": []}"#, "no principals"),
        (
            r#"{"principals": [{"name": "a", "password": "clear-text"}]}"#,
            "principal `a`: the password must be an Argon2 hash",
        ),
        (r#"{"principals": [{"name": "a"}]}"#, "needs a `password`"),
        (
            r#"{"principals": [{"name": "a", "token": "abc"}]}"#,
            "sha256:",
        ),
        (
            r#"{"principals": [{"name": "a", "token": "sha256:00", "permissions": ["ALL"]}]}"#,
            "64 hexadecimal",
        ),
        (
            r#"{"principals": [{"name": "a:b", "token": "sha256:00"}]}"#,
            "without `:`",
        ),
        (r#"{"users": []}"#, "unknown field"),
    ];
    for (text, needle) in cases {
        let err = file::parse(text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
    let digest = secret::token_digest("t");
    let text = format!(
        r#"{{"principals": [{{"name": "a", "token": "{digest}", "permissions": ["ALL"]}}]}}"#
    );
    let err = file::parse(&text).unwrap_err().to_string();
    assert!(err.contains("unknown permission `ALL`"), "{err}");
    let text = format!(
        r#"{{"principals": [{{"name": "a", "token": "{digest}"}}, {{"name": "a", "token": "{digest}"}}]}}"#
    );
    assert!(file::parse(&text)
        .unwrap_err()
        .to_string()
        .contains("defined twice"));
}

#[test]
fn pinot_properties_are_read() {
    let hash = secret::hash_password("secret");
    let text = format!(
        "# Pinot controller\n\
         controller.admin.access.control.factory.class=org.apache.pinot.controller.api.access.BasicAuthAccessControlFactory\n\
         controller.admin.access.control.principals=admin, user\n\
         controller.admin.access.control.principals.admin.password={hash}\n\
         controller.admin.access.control.principals.user.password={hash}\n\
         controller.admin.access.control.principals.user.tables=myusertable,baseballStats\n\
         controller.admin.access.control.principals.user.permissions=READ\n"
    );
    let accounts = file::parse(&text).unwrap();
    assert_eq!(accounts.len(), 2);
    let user = &accounts[1].principal;
    assert_eq!(user.name, "user");
    assert!(user.may(Permission::Read, Some("baseballStats")));
    assert!(!user.may(Permission::Update, Some("baseballStats")));
    assert!(accounts[0].principal.is_admin());

    let clear = "controller.admin.access.control.principals=admin\n\
                 controller.admin.access.control.principals.admin.password=verysecret\n";
    assert!(file::parse(clear)
        .unwrap_err()
        .to_string()
        .contains("gamay auth hash-password"));
}

#[test]
fn token_digests_round_trip() {
    let (token, digest) = secret::new_token();
    assert!(token.starts_with("gmy_"));
    assert_eq!(
        secret::parse_token_digest(&digest).unwrap(),
        secret::sha256(token.as_bytes())
    );
}
