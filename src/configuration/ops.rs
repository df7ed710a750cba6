//! The operations settings: the HTTP endpoint (`/healthz`, `/metrics`, the
//! webhook), webhook mode, and the log format. Kept apart from the desk's
//! settings, which say how the desk treats people.

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;

use super::{ConfigError, Settings, Telegram};

/// `[http]`: off unless `listen` is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    /// Address for `/healthz`, `/metrics` and the webhook, e.g. `127.0.0.1:8080`
    /// (`0.0.0.0:8080` in a container). Unset: no HTTP server.
    pub listen: Option<String>,
}

impl Http {
    /// The address to serve on; `validate` has checked it parses.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen.as_deref().and_then(|a| a.trim().parse().ok())
    }
}

/// `[log]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Lines for a person reading a terminal or journalctl.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl fmt::Debug for Telegram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telegram")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("api_url", &self.api_url)
            .field("max_per_second", &self.max_per_second)
            .field("max_per_chat_per_minute", &self.max_per_chat_per_minute)
            .field("poll_timeout_secs", &self.poll_timeout_secs)
            .field("webhook_url", &self.webhook_url)
            // The webhook secret is left out altogether, set or not.
            .finish_non_exhaustive()
    }
}

impl Telegram {
    pub fn per_second(&self) -> u32 {
        self.max_per_second.unwrap_or(30).max(1)
    }

    pub fn per_chat_per_minute(&self) -> u32 {
        self.max_per_chat_per_minute.unwrap_or(20).max(1)
    }

    /// The path Telegram posts to: the webhook URL's own path (a reverse proxy
    /// passes it on unchanged), `/` when it has none. `None` in polling mode.
    pub fn webhook_path(&self) -> Option<String> {
        let url = url::Url::parse(self.webhook_url.as_deref()?).ok()?;
        Some(url.path().to_string())
    }
}

impl Settings {
    /// The secret is the one setting of this part that should not sit in a file
    /// others may read.
    pub(super) fn apply_ops_env(&mut self, var: &impl Fn(&str) -> Option<String>) {
        if let Some(v) = var("GUANJIA_WEBHOOK_SECRET").filter(|v| !v.is_empty()) {
            self.telegram.secret_token = Some(v);
        }
    }

    pub(super) fn validate_ops(&self) -> Result<(), ConfigError> {
        if let Some(listen) = &self.http.listen
            && listen.trim().parse::<SocketAddr>().is_err()
        {
            return Err(ConfigError::Invalid {
                key: "http.listen",
                reason: format!("'{listen}' 不是「地址:端口」,例如 127.0.0.1:8080 或 0.0.0.0:8080"),
            });
        }
        let Some(webhook) = &self.telegram.webhook_url else {
            return Ok(());
        };
        match url::Url::parse(webhook) {
            Ok(u) if u.scheme() == "https" && u.host().is_some() => {}
            _ => {
                return Err(ConfigError::Invalid {
                    key: "telegram.webhook_url",
                    reason: format!(
                        "'{webhook}' 不是 https:// 网址(Telegram 只向 https 地址推送),例如 https://bot.example.com/telegram"
                    ),
                });
            }
        }
        if let Some(path @ ("/healthz" | "/metrics")) = self.telegram.webhook_path().as_deref() {
            return Err(ConfigError::Invalid {
                key: "telegram.webhook_url",
                reason: format!("路径 {path} 已用于健康检查或监控指标,请换一个,例如 /telegram"),
            });
        }
        if self.http.listen.is_none() {
            return Err(ConfigError::Invalid {
                key: "http.listen",
                reason: "设置了 telegram.webhook_url 就要设置 listen:Telegram 推送的消息由这个地址接收(在反向代理之后),例如 127.0.0.1:8080".into(),
            });
        }
        // Telegram's own rule for the secret: 1–256 of A–Z, a–z, 0–9, _ and -.
        let secret_ok = self.telegram.secret_token.as_deref().is_some_and(|s| {
            (1..=256).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if !secret_ok {
            return Err(ConfigError::Invalid {
                key: "telegram.secret_token",
                reason: "webhook 模式必须设置 secret_token(或环境变量 GUANJIA_WEBHOOK_SECRET):1 到 256 个字母、数字、_ 或 -,每个请求都会核对它".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_key(toml: &str) -> Option<&'static str> {
        match Settings::parse("g.toml", toml).unwrap().validate() {
            Err(ConfigError::Invalid { key, .. }) => Some(key),
            Ok(()) => None,
            Err(e) => panic!("{toml}: {e}"),
        }
    }

    #[test]
    fn webhook_mode_needs_https_a_listen_address_and_a_secret() {
        let ok = "[http]\nlisten = \"127.0.0.1:8080\"\n[telegram]\nwebhook_url = \"https://bot.example.com/tg/hook\"\nsecret_token = \"abc_DEF-123\"\n";
        assert_eq!(invalid_key(ok), None);
        let s = Settings::parse("g.toml", ok).unwrap();
        assert_eq!(s.telegram.webhook_path().as_deref(), Some("/tg/hook"));
        assert_eq!(
            s.http.listen_addr(),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            invalid_key(&ok.replace("https://", "http://")),
            Some("telegram.webhook_url")
        );
        assert_eq!(
            invalid_key(&ok.replace("/tg/hook", "/metrics")),
            Some("telegram.webhook_url"),
            "the path /metrics already serves"
        );
        assert_eq!(
            invalid_key(&ok.replace("listen = \"127.0.0.1:8080\"", "")),
            Some("http.listen")
        );
        assert_eq!(
            invalid_key(&ok.replace("abc_DEF-123", "has space")),
            Some("telegram.secret_token")
        );
        assert_eq!(
            invalid_key(&ok.replace("secret_token = \"abc_DEF-123\"\n", "")),
            Some("telegram.secret_token")
        );
        assert_eq!(
            invalid_key("[http]\nlisten = \"localhost\"\n"),
            Some("http.listen")
        );
        assert_eq!(invalid_key("[log]\nformat = \"json\"\n"), None);
        assert!(Settings::parse("g.toml", "[log]\nformat = \"xml\"\n").is_err());
    }

    #[test]
    fn the_secret_comes_from_the_environment_and_is_never_printed() {
        let mut s = Settings::default();
        s.apply_env(|k| (k == "GUANJIA_WEBHOOK_SECRET").then(|| "s3cr3t-value".into()));
        assert_eq!(s.telegram.secret_token.as_deref(), Some("s3cr3t-value"));
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn the_docker_config_is_valid_once_the_secret_is_in_the_environment() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/guanjia.docker.toml"
        ))
        .unwrap();
        let mut s = Settings::parse("guanjia.docker.toml", &text).unwrap();
        assert!(s.validate().is_err(), "no secret yet");
        s.apply_env(|k| (k == "GUANJIA_WEBHOOK_SECRET").then(|| "from-the-env".into()));
        s.validate().unwrap();
        assert_eq!(s.log.format, LogFormat::Json);
        assert_eq!(s.http.listen_addr().map(|a| a.port()), Some(8080));
    }
}
