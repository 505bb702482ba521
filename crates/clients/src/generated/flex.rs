// generated from openapi/flex.yaml by `cargo xtask codegen`; do not edit
#![allow(clippy::all, clippy::pedantic, unused_imports, dead_code)]

#[allow(unused_imports)]
pub use progenitor_client::{ByteStream, ClientInfo, Error, ResponseValue};
#[allow(unused_imports)]
use progenitor_client::{encode_path, ClientHooks, OperationInfo, RequestBuilderExt};
/// Types used as operation parameters and responses.
#[allow(clippy::all)]
pub mod types {
    ///The products the coupon is limited to.
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct AppliesTo {
        #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
        pub products: ::std::vec::Vec<::std::string::String>,
    }
    ///A coupon contains information about a percent-off or amount-off discount you might want to apply to a customer.
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct Coupon {
        ///Amount taken off invoice totals, in cents (USD; units inferred).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub amount_off: ::std::option::Option<i64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub applies_to: ::std::option::Option<AppliesTo>,
        pub coupon_id: ::std::string::String,
        pub created_at: ::chrono::DateTime<::chrono::offset::Utc>,
        pub duration: Duration,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub duration_in_months: ::std::option::Option<i64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub max_redemptions: ::std::option::Option<i64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub metadata: ::std::option::Option<Metadata>,
        pub name: ::std::string::String,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub percent_off: ::std::option::Option<f64>,
        pub test_mode: bool,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub times_redeemed: ::std::option::Option<i64>,
        ///Whether this coupon can still be applied to a customer.
        pub valid: bool,
    }
    ///`CouponEnvelope`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CouponEnvelope {
        pub coupon: Coupon,
    }
    ///`CouponList`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CouponList {
        pub coupons: ::std::vec::Vec<Coupon>,
    }
    ///`CreateCoupon`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CreateCoupon {
        ///Positive integer, in cents. Exactly one of amount_off and percent_off.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub amount_off: ::std::option::Option<::std::num::NonZeroU64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub applies_to: ::std::option::Option<AppliesTo>,
        pub duration: Duration,
        ///Required when duration is repeating.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub duration_in_months: ::std::option::Option<::std::num::NonZeroU64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub max_redemptions: ::std::option::Option<::std::num::NonZeroU64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub metadata: ::std::option::Option<Metadata>,
        pub name: ::std::string::String,
        ///0 < percent_off <= 100. Exactly one of amount_off and percent_off.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub percent_off: ::std::option::Option<f64>,
    }
    ///`CreateCouponRequest`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CreateCouponRequest {
        pub coupon: CreateCoupon,
    }
    ///`CreatePromoCode`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CreatePromoCode {
        pub code: ::std::string::String,
        pub coupon_id: ::std::string::String,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub customer: ::std::option::Option<::std::string::String>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub max_redemptions: ::std::option::Option<::std::num::NonZeroU64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub metadata: ::std::option::Option<Metadata>,
    }
    ///`CreatePromoCodeRequest`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CreatePromoCodeRequest {
        pub promo_code: CreatePromoCode,
    }
    ///`Duration`
    #[derive(
        ::serde::Deserialize,
        ::serde::Serialize,
        Clone,
        Copy,
        Debug,
        Eq,
        Hash,
        Ord,
        PartialEq,
        PartialOrd
    )]
    pub enum Duration {
        #[serde(rename = "once")]
        Once,
        #[serde(rename = "repeating")]
        Repeating,
        #[serde(rename = "forever")]
        Forever,
    }
    impl ::std::fmt::Display for Duration {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Once => f.write_str("once"),
                Self::Repeating => f.write_str("repeating"),
                Self::Forever => f.write_str("forever"),
            }
        }
    }
    impl ::std::str::FromStr for Duration {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "once" => Ok(Self::Once),
                "repeating" => Ok(Self::Repeating),
                "forever" => Ok(Self::Forever),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for Duration {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for Duration {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    ///`Error`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct Error {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub error: ::std::option::Option<ErrorError>,
    }
    ///`ErrorError`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct ErrorError {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub message: ::std::option::Option<::std::string::String>,
        #[serde(rename = "type", skip_serializing_if = "::std::option::Option::is_none")]
        pub type_: ::std::option::Option<::std::string::String>,
    }
    ///`Metadata`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(transparent)]
    pub struct Metadata(
        pub ::std::option::Option<
            ::std::collections::HashMap<::std::string::String, ::std::string::String>,
        >,
    );
    impl ::std::ops::Deref for Metadata {
        type Target = ::std::option::Option<
            ::std::collections::HashMap<::std::string::String, ::std::string::String>,
        >;
        fn deref(
            &self,
        ) -> &::std::option::Option<
            ::std::collections::HashMap<::std::string::String, ::std::string::String>,
        > {
            &self.0
        }
    }
    impl ::std::convert::From<Metadata>
    for ::std::option::Option<
        ::std::collections::HashMap<::std::string::String, ::std::string::String>,
    > {
        fn from(value: Metadata) -> Self {
            value.0
        }
    }
    impl ::std::convert::From<
        ::std::option::Option<
            ::std::collections::HashMap<::std::string::String, ::std::string::String>,
        >,
    > for Metadata {
        fn from(
            value: ::std::option::Option<
                ::std::collections::HashMap<::std::string::String, ::std::string::String>,
            >,
        ) -> Self {
            Self(value)
        }
    }
    ///A promo code represents a code for a coupon that can be redeemed by a customer.
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct PromoCode {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub active: ::std::option::Option<bool>,
        ///The customer-facing code, unique regardless of case among active codes.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub code: ::std::option::Option<::std::string::String>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub coupon: ::std::option::Option<Coupon>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub created_at: ::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>,
        ///Only this customer may redeem the code.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub customer: ::std::option::Option<::std::string::String>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub max_redemptions: ::std::option::Option<i64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub metadata: ::std::option::Option<Metadata>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub promo_code_id: ::std::option::Option<::std::string::String>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub test_mode: ::std::option::Option<bool>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub times_redeemed: ::std::option::Option<i64>,
    }
    ///`PromoCodeEnvelope`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct PromoCodeEnvelope {
        pub promo_code: PromoCode,
    }
    ///`PromoCodeList`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct PromoCodeList {
        pub promo_codes: ::std::vec::Vec<PromoCode>,
    }
    ///`UpdatePromoCode`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct UpdatePromoCode {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub active: ::std::option::Option<bool>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub metadata: ::std::option::Option<Metadata>,
    }
    ///`UpdatePromoCodeRequest`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct UpdatePromoCodeRequest {
        pub promo_code: UpdatePromoCode,
    }
    /// Error types.
    pub mod error {
        /// Error from a `TryFrom` or `FromStr` implementation.
        pub struct ConversionError(::std::borrow::Cow<'static, str>);
        impl ::std::error::Error for ConversionError {}
        impl ::std::fmt::Display for ConversionError {
            fn fmt(
                &self,
                f: &mut ::std::fmt::Formatter<'_>,
            ) -> Result<(), ::std::fmt::Error> {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }
        impl ::std::fmt::Debug for ConversionError {
            fn fmt(
                &self,
                f: &mut ::std::fmt::Formatter<'_>,
            ) -> Result<(), ::std::fmt::Error> {
                ::std::fmt::Debug::fmt(&self.0, f)
            }
        }
        impl From<&'static str> for ConversionError {
            fn from(value: &'static str) -> Self {
                Self(value.into())
            }
        }
        impl From<String> for ConversionError {
            fn from(value: String) -> Self {
                Self(value.into())
            }
        }
    }
}
#[derive(Clone, Debug)]
/**Client for Flex API (PromoHub subset)

Version: 0.1.0*/
pub struct Client {
    pub(crate) baseurl: String,
    pub(crate) client: reqwest::Client,
}
impl Client {
    /// Create a new client.
    ///
    /// `baseurl` is the base URL provided to the internal
    /// `reqwest::Client`, and should include a scheme and hostname,
    /// as well as port and a path stem if applicable.
    pub fn new(baseurl: &str) -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        let client = {
            let dur = ::std::time::Duration::from_secs(15u64);
            reqwest::ClientBuilder::new().connect_timeout(dur).timeout(dur)
        };
        #[cfg(target_arch = "wasm32")]
        let client = reqwest::ClientBuilder::new();
        Self::new_with_client(baseurl, client.build().unwrap())
    }
    /// Construct a new client with an existing `reqwest::Client`,
    /// allowing more control over its configuration.
    ///
    /// `baseurl` is the base URL provided to the internal
    /// `reqwest::Client`, and should include a scheme and hostname,
    /// as well as port and a path stem if applicable.
    pub fn new_with_client(baseurl: &str, client: reqwest::Client) -> Self {
        Self {
            baseurl: baseurl.to_string(),
            client,
        }
    }
}
impl ClientInfo<()> for Client {
    fn api_version() -> &'static str {
        "0.1.0"
    }
    fn baseurl(&self) -> &str {
        self.baseurl.as_str()
    }
    fn client(&self) -> &reqwest::Client {
        &self.client
    }
    fn inner(&self) -> &() {
        &()
    }
}
impl ClientHooks<()> for &Client {}
#[allow(clippy::all)]
impl Client {
    /**List Promo Codes

Returns a list of your promotion codes. Optionally filter by `active`.

Sends a `GET` request to `/v1/promo_codes`

Arguments:
- `active`: Specifies whether the promo code is currently active.
*/
    pub async fn list_promo_codes<'a>(
        &'a self,
        active: Option<bool>,
    ) -> Result<ResponseValue<types::PromoCodeList>, Error<ByteStream>> {
        let url = format!("{}/v1/promo_codes", self.baseurl,);
        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
        header_map
            .append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(Self::api_version()),
            );
        #[allow(unused_mut)]
        let mut request = self
            .client
            .get(url)
            .header(
                ::reqwest::header::ACCEPT,
                ::reqwest::header::HeaderValue::from_static("application/json"),
            )
            .query(&progenitor_client::QueryParam::new("active", &active))
            .headers(header_map)
            .build()?;
        let info = OperationInfo {
            operation_id: "list_promo_codes",
        };
        self.pre(&mut request, &info).await?;
        let result = self.exec(request, &info).await;
        self.post(&result, &info).await?;
        let response = result?;
        match response.status().as_u16() {
            200u16 => ResponseValue::from_response(response).await,
            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            500u16..=599u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
    /**Create Promo Code

Sends a `POST` request to `/v1/promo_codes`

*/
    pub async fn create_promo_code<'a>(
        &'a self,
        body: &'a types::CreatePromoCodeRequest,
    ) -> Result<ResponseValue<types::PromoCodeEnvelope>, Error<ByteStream>> {
        let url = format!("{}/v1/promo_codes", self.baseurl,);
        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
        header_map
            .append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(Self::api_version()),
            );
        #[allow(unused_mut)]
        let mut request = self
            .client
            .post(url)
            .header(
                ::reqwest::header::ACCEPT,
                ::reqwest::header::HeaderValue::from_static("application/json"),
            )
            .json(&body)
            .headers(header_map)
            .build()?;
        let info = OperationInfo {
            operation_id: "create_promo_code",
        };
        self.pre(&mut request, &info).await?;
        let result = self.exec(request, &info).await;
        self.post(&result, &info).await?;
        let response = result?;
        match response.status().as_u16() {
            200u16 => ResponseValue::from_response(response).await,
            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            500u16..=599u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
    /**Get Promo Code

Sends a `GET` request to `/v1/promo_codes/{id}`

*/
    pub async fn get_promo_code<'a>(
        &'a self,
        id: &'a str,
    ) -> Result<ResponseValue<types::PromoCodeEnvelope>, Error<ByteStream>> {
        let url = format!(
            "{}/v1/promo_codes/{}", self.baseurl, encode_path(& id.to_string()),
        );
        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
        header_map
            .append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(Self::api_version()),
            );
        #[allow(unused_mut)]
        let mut request = self
            .client
            .get(url)
            .header(
                ::reqwest::header::ACCEPT,
                ::reqwest::header::HeaderValue::from_static("application/json"),
            )
            .headers(header_map)
            .build()?;
        let info = OperationInfo {
            operation_id: "get_promo_code",
        };
        self.pre(&mut request, &info).await?;
        let result = self.exec(request, &info).await;
        self.post(&result, &info).await?;
        let response = result?;
        match response.status().as_u16() {
            200u16 => ResponseValue::from_response(response).await,
            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            500u16..=599u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
    /**Update Promo Code

Update a promo code by id. Only `active` and `metadata` can change.

Sends a `POST` request to `/v1/promo_codes/{id}`

*/
    pub async fn update_promo_code<'a>(
        &'a self,
        id: &'a str,
        body: &'a types::UpdatePromoCodeRequest,
    ) -> Result<ResponseValue<types::PromoCodeEnvelope>, Error<ByteStream>> {
        let url = format!(
            "{}/v1/promo_codes/{}", self.baseurl, encode_path(& id.to_string()),
        );
        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
        header_map
            .append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(Self::api_version()),
            );
        #[allow(unused_mut)]
        let mut request = self
            .client
            .post(url)
            .header(
                ::reqwest::header::ACCEPT,
                ::reqwest::header::HeaderValue::from_static("application/json"),
            )
            .json(&body)
            .headers(header_map)
            .build()?;
        let info = OperationInfo {
            operation_id: "update_promo_code",
        };
        self.pre(&mut request, &info).await?;
        let result = self.exec(request, &info).await;
        self.post(&result, &info).await?;
        let response = result?;
        match response.status().as_u16() {
            200u16 => ResponseValue::from_response(response).await,
            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            500u16..=599u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
    /**List Coupons

Sends a `GET` request to `/v1/coupons`

*/
    pub async fn list_coupons<'a>(
        &'a self,
        name: Option<&'a str>,
    ) -> Result<ResponseValue<types::CouponList>, Error<ByteStream>> {
        let url = format!("{}/v1/coupons", self.baseurl,);
        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
        header_map
            .append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(Self::api_version()),
            );
        #[allow(unused_mut)]
        let mut request = self
            .client
            .get(url)
            .header(
                ::reqwest::header::ACCEPT,
                ::reqwest::header::HeaderValue::from_static("application/json"),
            )
            .query(&progenitor_client::QueryParam::new("name", &name))
            .headers(header_map)
            .build()?;
        let info = OperationInfo {
            operation_id: "list_coupons",
        };
        self.pre(&mut request, &info).await?;
        let result = self.exec(request, &info).await;
        self.post(&result, &info).await?;
        let response = result?;
        match response.status().as_u16() {
            200u16 => ResponseValue::from_response(response).await,
            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            500u16..=599u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
    /**Create Coupon

Creates a coupon. Exactly one of `amount_off` or `percent_off` must be provided; supplying both, or neither, is rejected. When `duration` is `repeating`, `duration_in_months` is required.

Sends a `POST` request to `/v1/coupons`

*/
    pub async fn create_coupon<'a>(
        &'a self,
        body: &'a types::CreateCouponRequest,
    ) -> Result<ResponseValue<types::CouponEnvelope>, Error<ByteStream>> {
        let url = format!("{}/v1/coupons", self.baseurl,);
        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
        header_map
            .append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(Self::api_version()),
            );
        #[allow(unused_mut)]
        let mut request = self
            .client
            .post(url)
            .header(
                ::reqwest::header::ACCEPT,
                ::reqwest::header::HeaderValue::from_static("application/json"),
            )
            .json(&body)
            .headers(header_map)
            .build()?;
        let info = OperationInfo {
            operation_id: "create_coupon",
        };
        self.pre(&mut request, &info).await?;
        let result = self.exec(request, &info).await;
        self.post(&result, &info).await?;
        let response = result?;
        match response.status().as_u16() {
            200u16 => ResponseValue::from_response(response).await,
            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            500u16..=599u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
    /**Get Coupon

Retrieves a coupon by its ID.

Sends a `GET` request to `/v1/coupons/{id}`

*/
    pub async fn get_coupon<'a>(
        &'a self,
        id: &'a str,
    ) -> Result<ResponseValue<types::CouponEnvelope>, Error<ByteStream>> {
        let url = format!(
            "{}/v1/coupons/{}", self.baseurl, encode_path(& id.to_string()),
        );
        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
        header_map
            .append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(Self::api_version()),
            );
        #[allow(unused_mut)]
        let mut request = self
            .client
            .get(url)
            .header(
                ::reqwest::header::ACCEPT,
                ::reqwest::header::HeaderValue::from_static("application/json"),
            )
            .headers(header_map)
            .build()?;
        let info = OperationInfo {
            operation_id: "get_coupon",
        };
        self.pre(&mut request, &info).await?;
        let result = self.exec(request, &info).await;
        self.post(&result, &info).await?;
        let response = result?;
        match response.status().as_u16() {
            200u16 => ResponseValue::from_response(response).await,
            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            500u16..=599u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
}
/// Items consumers will typically use such as the Client.
pub mod prelude {
    #[allow(unused_imports)]
    pub use super::Client;
}
