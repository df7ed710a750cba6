//! TEMPORARY stand-in until the classifier branch lands.
#[derive(Debug, Clone)]
pub struct FaqEntry {
    pub id: String,
    pub title: String,
    pub answer: String,
}
