//! The JSON PromoHub answers, as typed structs serde serializes.

use super::*;

/// RFC 3339 in UTC with `Z`, as PromoHub's DateTime scalar writes it.
pub(crate) struct Time(pub(crate) DateTime<Utc>);

impl Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

#[derive(Serialize)]
pub(crate) struct Data<T> {
    pub(crate) data: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListData {
    pub(crate) promo_codes: Page,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page {
    pub(crate) nodes: Vec<Node>,
    pub(crate) page_info: PageInfo,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageInfo {
    pub(crate) has_next_page: bool,
    pub(crate) end_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Node {
    pub(crate) id: String,
    pub(crate) code: String,
    pub(crate) status: String,
    pub(crate) discount: Discount,
    pub(crate) times_redeemed: i64,
    pub(crate) created_at: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) providers: Option<Vec<Link>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Discount {
    pub(crate) percent_off: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Link {
    pub(crate) provider: String,
    pub(crate) state: String,
    pub(crate) external_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ValidateData {
    pub(crate) validate_promo_code: Validation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Validation {
    pub(crate) valid: bool,
    pub(crate) reason: Option<&'static str>,
    pub(crate) promo_code: Option<Node>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ByCodeData {
    pub(crate) promo_code_by_code: Option<Node>,
}

/// PromoHub's cursor today: hex of `{"d":..,"id":..,"s":..,"v":..}` (keys sorted, as json! writes them).
#[derive(Serialize, Deserialize)]
pub(crate) struct Cursor<V> {
    pub(crate) d: bool,
    pub(crate) id: String,
    pub(crate) s: String,
    pub(crate) v: V,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    let pairs = text.as_bytes().chunks(2);
    pairs
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_promohubs_hex_json() {
        let cursor = Cursor {
            d: true,
            id: "x".into(),
            s: "CODE".into(),
            v: "c1",
        };
        let text = hex(&serde_json::to_vec(&cursor).unwrap());
        let back = unhex(&text).unwrap();
        assert_eq!(back, br#"{"d":true,"id":"x","s":"CODE","v":"c1"}"#);
        assert_eq!(unhex("zz"), None);
    }
}
