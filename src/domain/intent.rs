//! TEMPORARY stand-in until the classifier branch lands.
use super::faq::FaqEntry;
use super::location::{self, Location};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent { Emergency, Complaint, Repair, Inquiry, Suggestion, Other }

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self { Intent::Emergency => "emergency", Intent::Complaint => "complaint", Intent::Repair => "repair", Intent::Inquiry => "inquiry", Intent::Suggestion => "suggestion", Intent::Other => "other" }
    }
}
impl std::str::FromStr for Intent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s { "emergency" => Intent::Emergency, "complaint" => Intent::Complaint, "repair" => Intent::Repair, "inquiry" => Intent::Inquiry, "suggestion" => Intent::Suggestion, "other" => Intent::Other, _ => return Err(s.into()) })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Utility { Water, Power, Gas }

#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub intent: Intent,
    pub category: Option<String>,
    pub faq: Option<String>,
    pub location: Option<Location>,
    pub utility: Option<Utility>,
    pub rule: Option<String>,
    pub keywords: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(String);

pub struct Classifier { faq: Vec<FaqEntry> }

impl Classifier {
    pub fn load(_dir: &Path) -> Result<Classifier, RuleError> {
        Ok(Classifier { faq: vec![FaqEntry { id: "fee_payment".into(), title: "缴费".into(), answer: "可在{company}公众号缴费,电话{phone}".into() }, FaqEntry { id: "outage".into(), title: "停水停电".into(), answer: "目前没有计划停水停电".into() }] })
    }
    pub fn classify(&self, text: &str) -> Classification {
        let t = super::text::normalize(text);
        let has = |ws: &[&str]| ws.iter().find(|w| t.contains(**w)).map(|w| w.to_string());
        let (intent, category, faq) = if let Some(_) = has(&["困人", "着火", "燃气泄漏"]) {
            (Intent::Emergency, Some(if t.contains("困") { "elevator" } else { "fire" }.to_string()), None)
        } else if has(&["太吵", "投诉", "没人管"]).is_some() {
            (Intent::Complaint, Some("noise".to_string()), None)
        } else if has(&["漏水", "坏了", "停水", "没水", "没电"]).is_some() {
            (Intent::Repair, Some(if t.contains("电") { "electrical" } else { "plumbing" }.to_string()), None)
        } else if has(&["怎么交", "物业费"]).is_some() {
            (Intent::Inquiry, None, Some("fee_payment".to_string()))
        } else if has(&["几点来水", "停水吗"]).is_some() {
            (Intent::Inquiry, None, Some("outage".to_string()))
        } else if has(&["建议"]).is_some() {
            (Intent::Suggestion, None, None)
        } else { (Intent::Other, None, None) };
        let utility = if t.contains("水") && (t.contains("停") || t.contains("没")) { Some(Utility::Water) } else if t.contains("没电") || t.contains("停电") { Some(Utility::Power) } else { None };
        Classification { intent, category, faq, location: location::extract(&t), utility, rule: None, keywords: vec![] }
    }
    pub fn faq_entry(&self, id: &str) -> Option<&FaqEntry> { self.faq.iter().find(|f| f.id == id) }
    pub fn category_label(&self, _id: &str) -> Option<&str> { None }
}
