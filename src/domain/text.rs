//! TEMPORARY stand-in until the classifier branch lands.
pub fn normalize(s: &str) -> String {
    s.trim().to_lowercase()
}
