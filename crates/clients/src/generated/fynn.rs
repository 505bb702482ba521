// generated from openapi/fynn.yaml by `cargo xtask codegen`; do not edit
#![allow(clippy::all, clippy::pedantic, unused_imports, dead_code)]

#[allow(unused_imports)]
pub use progenitor_client::{ByteStream, ClientInfo, Error, ResponseValue};
#[allow(unused_imports)]
use progenitor_client::{encode_path, ClientHooks, OperationInfo, RequestBuilderExt};
/// Types used as operation parameters and responses.
#[allow(clippy::all)]
pub mod types {
    ///A coupon as Fynn returns it. The list view omits maxRedemptionsPerCustomer and the plan/product arrays, so only what every view shows is required.
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct Coupon {
        pub code: ::std::string::String,
        #[serde(
            rename = "createdAt",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub created_at: ::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>,
        #[serde(
            rename = "excludedFromPlans",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub excluded_from_plans: ::std::option::Option<References>,
        #[serde(
            rename = "excludedFromProducts",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub excluded_from_products: ::std::option::Option<References>,
        #[serde(
            rename = "expiresAt",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub expires_at: ::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>,
        #[serde(
            rename = "fixedAmount",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub fixed_amount: ::std::option::Option<FixedAmount>,
        pub frequency: Frequency,
        #[serde(
            rename = "frequencyInterval",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub frequency_interval: ::std::option::Option<i64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub id: ::std::option::Option<::std::string::String>,
        #[serde(
            rename = "isEnabled",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub is_enabled: ::std::option::Option<bool>,
        #[serde(
            rename = "limitedToPlans",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub limited_to_plans: ::std::option::Option<References>,
        #[serde(
            rename = "limitedToProducts",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub limited_to_products: ::std::option::Option<References>,
        #[serde(
            rename = "maxRedemptions",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub max_redemptions: ::std::option::Option<i64>,
        #[serde(
            rename = "maxRedemptionsPerCustomer",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub max_redemptions_per_customer: ::std::option::Option<i64>,
        pub name: ::std::string::String,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub percentage: ::std::option::Option<i64>,
        ///(sic) Has this coupon been redeemed by a customer? If yes, it cannot be edited or deleted anymore.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub reedemptions: ::std::option::Option<bool>,
        #[serde(rename = "type")]
        pub type_: CouponType,
        #[serde(
            rename = "updatedAt",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub updated_at: ::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>,
        #[serde(flatten)]
        pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
    }
    ///`CouponCollection`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CouponCollection {
        ///Coupons (see Coupon). Items are read one by one, so that one coupon PromoHub cannot read (a new enum value, an odd fixedAmount) does not break the whole list.
        pub data: ::std::vec::Vec<::serde_json::Value>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub meta: ::std::option::Option<CouponCollectionMeta>,
    }
    ///`CouponCollectionMeta`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct CouponCollectionMeta {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub pagination: ::std::option::Option<Pagination>,
    }
    ///percentage: a percentage is taken off the total plan amount. fixed_amount: a fixed amount is taken off; it never goes below 0.
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
    pub enum CouponType {
        #[serde(rename = "percentage")]
        Percentage,
        #[serde(rename = "fixed_amount")]
        FixedAmount,
    }
    impl ::std::fmt::Display for CouponType {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Percentage => f.write_str("percentage"),
                Self::FixedAmount => f.write_str("fixed_amount"),
            }
        }
    }
    impl ::std::str::FromStr for CouponType {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "percentage" => Ok(Self::Percentage),
                "fixed_amount" => Ok(Self::FixedAmount),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for CouponType {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for CouponType {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    ///`CouponWrite`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CouponWrite {
        ///The code that can be used to apply this coupon or to use it with the api.
        pub code: ::std::string::String,
        #[serde(
            rename = "excludedFromPlans",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub excluded_from_plans: ::std::option::Option<References>,
        #[serde(
            rename = "excludedFromProducts",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub excluded_from_products: ::std::option::Option<References>,
        ///When the coupon expires; null means never.
        #[serde(
            rename = "expiresAt",
            deserialize_with = "::std::option::Option::deserialize"
        )]
        pub expires_at: ::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>,
        ///Required for type fixed_amount.
        #[serde(
            rename = "fixedAmount",
            deserialize_with = "::std::option::Option::deserialize"
        )]
        pub fixed_amount: ::std::option::Option<FixedAmount>,
        pub frequency: Frequency,
        ///Number of billing periods. Required for frequency limited.
        #[serde(
            rename = "frequencyInterval",
            deserialize_with = "::std::option::Option::deserialize"
        )]
        pub frequency_interval: ::std::option::Option<i64>,
        ///Whether this coupon is enabled.
        #[serde(rename = "isEnabled", default = "defaults::default_bool::<true>")]
        pub is_enabled: bool,
        #[serde(
            rename = "limitedToPlans",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub limited_to_plans: ::std::option::Option<References>,
        #[serde(
            rename = "limitedToProducts",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub limited_to_products: ::std::option::Option<References>,
        ///Times it may be redeemed in total; null means no limit.
        #[serde(
            rename = "maxRedemptions",
            deserialize_with = "::std::option::Option::deserialize"
        )]
        pub max_redemptions: ::std::option::Option<i64>,
        ///Times one customer may redeem it; null means no limit.
        #[serde(
            rename = "maxRedemptionsPerCustomer",
            deserialize_with = "::std::option::Option::deserialize"
        )]
        pub max_redemptions_per_customer: ::std::option::Option<i64>,
        ///Displayed to the user in the checkout process, customer front, etc.
        pub name: ::std::string::String,
        ///Whole percent. Required for type percentage.
        #[serde(deserialize_with = "::std::option::Option::deserialize")]
        pub percentage: ::std::option::Option<i64>,
        #[serde(rename = "type")]
        pub type_: CouponType,
        #[serde(flatten)]
        pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
    }
    ///`FixedAmount`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct FixedAmount {
        ///Minor units (cents)
        pub amount: i64,
        ///ISO 4217
        pub currency: ::std::string::String,
    }
    ///once: applied for the first billing period. limited: for frequencyInterval billing periods. lifetime: forever.
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
    pub enum Frequency {
        #[serde(rename = "once")]
        Once,
        #[serde(rename = "limited")]
        Limited,
        #[serde(rename = "lifetime")]
        Lifetime,
    }
    impl ::std::fmt::Display for Frequency {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Once => f.write_str("once"),
                Self::Limited => f.write_str("limited"),
                Self::Lifetime => f.write_str("lifetime"),
            }
        }
    }
    impl ::std::str::FromStr for Frequency {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "once" => Ok(Self::Once),
                "limited" => Ok(Self::Limited),
                "lifetime" => Ok(Self::Lifetime),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for Frequency {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for Frequency {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    ///`Pagination`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct Pagination {
        #[serde(
            rename = "currentPage",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub current_page: ::std::option::Option<i64>,
        #[serde(
            rename = "itemsPerPage",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub items_per_page: ::std::option::Option<i64>,
        #[serde(
            rename = "lastPage",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub last_page: ::std::option::Option<i64>,
        #[serde(
            rename = "pageTotalItems",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub page_total_items: ::std::option::Option<i64>,
        #[serde(
            rename = "totalItems",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub total_items: ::std::option::Option<i64>,
    }
    ///`Problem`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct Problem {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub detail: ::std::option::Option<::std::string::String>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub status: ::std::option::Option<i64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub title: ::std::option::Option<::std::string::String>,
        #[serde(rename = "type", skip_serializing_if = "::std::option::Option::is_none")]
        pub type_: ::std::option::Option<::std::string::String>,
        #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
        pub violations: ::std::vec::Vec<Violation>,
    }
    ///Rendered as `object[]` by the docs; the item shape is not documented.
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    #[serde(transparent)]
    pub struct References(pub ::std::vec::Vec<::serde_json::Value>);
    impl ::std::ops::Deref for References {
        type Target = ::std::vec::Vec<::serde_json::Value>;
        fn deref(&self) -> &::std::vec::Vec<::serde_json::Value> {
            &self.0
        }
    }
    impl ::std::convert::From<References> for ::std::vec::Vec<::serde_json::Value> {
        fn from(value: References) -> Self {
            value.0
        }
    }
    impl ::std::convert::From<::std::vec::Vec<::serde_json::Value>> for References {
        fn from(value: ::std::vec::Vec<::serde_json::Value>) -> Self {
            Self(value)
        }
    }
    ///`Violation`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct Violation {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub message: ::std::option::Option<::std::string::String>,
        #[serde(
            rename = "propertyPath",
            skip_serializing_if = "::std::option::Option::is_none"
        )]
        pub property_path: ::std::option::Option<::std::string::String>,
    }
    /// Generation of default values for serde.
    pub mod defaults {
        pub(super) fn default_bool<const V: bool>() -> bool {
            V
        }
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
/**Client for Fynn API (PromoHub subset)

Version: 0.0.0*/
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
        "0.0.0"
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
    /**Get all coupons

Required permissions: coupon:read

Sends a `GET` request to `/coupons`

Arguments:
- `limit`: The number of items per page (0 < limit < 100)
- `page`: The collection page number
*/
    pub async fn get_coupons<'a>(
        &'a self,
        limit: Option<::std::num::NonZeroU64>,
        page: Option<::std::num::NonZeroU64>,
    ) -> Result<ResponseValue<types::CouponCollection>, Error<ByteStream>> {
        let url = format!("{}/coupons", self.baseurl,);
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
            .query(&progenitor_client::QueryParam::new("limit", &limit))
            .query(&progenitor_client::QueryParam::new("page", &page))
            .headers(header_map)
            .build()?;
        let info = OperationInfo {
            operation_id: "get_coupons",
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
    /**Create a coupon

Required permissions: coupon:write

Sends a `POST` request to `/coupons`

Arguments:
- `body`: The new Coupon resource
*/
    pub async fn create_coupon<'a>(
        &'a self,
        body: &'a types::CouponWrite,
    ) -> Result<ResponseValue<types::Coupon>, Error<ByteStream>> {
        let url = format!("{}/coupons", self.baseurl,);
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
            201u16 => ResponseValue::from_response(response).await,
            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            500u16..=599u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
    /**Get a coupon

Sends a `GET` request to `/coupons/{id}`

Arguments:
- `id`: Coupon identifier
*/
    pub async fn get_coupon<'a>(
        &'a self,
        id: &'a str,
    ) -> Result<ResponseValue<types::Coupon>, Error<ByteStream>> {
        let url = format!("{}/coupons/{}", self.baseurl, encode_path(& id.to_string()),);
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
    /**Update a coupon

'Required permissions: coupon:write'. Replaces the whole coupon. A coupon that has been redeemed cannot be changed.

Sends a `PUT` request to `/coupons/{id}`

Arguments:
- `id`: Coupon identifier
- `body`: The updated Coupon resource
*/
    pub async fn update_coupon<'a>(
        &'a self,
        id: &'a str,
        body: &'a types::CouponWrite,
    ) -> Result<ResponseValue<types::Coupon>, Error<ByteStream>> {
        let url = format!("{}/coupons/{}", self.baseurl, encode_path(& id.to_string()),);
        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
        header_map
            .append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(Self::api_version()),
            );
        #[allow(unused_mut)]
        let mut request = self
            .client
            .put(url)
            .header(
                ::reqwest::header::ACCEPT,
                ::reqwest::header::HeaderValue::from_static("application/json"),
            )
            .json(&body)
            .headers(header_map)
            .build()?;
        let info = OperationInfo {
            operation_id: "update_coupon",
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
    /**Delete a coupon

A coupon that has been redeemed cannot be deleted.

Sends a `DELETE` request to `/coupons/{id}`

Arguments:
- `id`: Coupon identifier
*/
    pub async fn delete_coupon<'a>(
        &'a self,
        id: &'a str,
    ) -> Result<ResponseValue<()>, Error<ByteStream>> {
        let url = format!("{}/coupons/{}", self.baseurl, encode_path(& id.to_string()),);
        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
        header_map
            .append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(Self::api_version()),
            );
        #[allow(unused_mut)]
        let mut request = self.client.delete(url).headers(header_map).build()?;
        let info = OperationInfo {
            operation_id: "delete_coupon",
        };
        self.pre(&mut request, &info).await?;
        let result = self.exec(request, &info).await;
        self.post(&result, &info).await?;
        let response = result?;
        match response.status().as_u16() {
            204u16 => Ok(ResponseValue::empty(response)),
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
