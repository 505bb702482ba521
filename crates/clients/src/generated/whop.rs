// generated from openapi/whop.yaml by `cargo xtask codegen`; do not edit
#![allow(clippy::all, clippy::pedantic, unused_imports, dead_code)]

#[allow(unused_imports)]
pub use progenitor_client::{ByteStream, ClientInfo, Error, ResponseValue};
#[allow(unused_imports)]
use progenitor_client::{encode_path, ClientHooks, OperationInfo, RequestBuilderExt};
/// Types used as operation parameters and responses.
#[allow(clippy::all)]
pub mod types {
    ///Creates a promo code
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
    pub struct CreatePromoCode {
        ///The amount off (percentage or flat amount).
        pub amount_off: f64,
        pub base_currency: Currency,
        ///The specific code used to apply the Promo Code at checkout.
        pub code: ::std::string::String,
        ///Expiry in seconds since the Unix epoch.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub expiration_datetime: ::std::option::Option<i64>,
        ///A key value pair of metadata. (nullable only so an empty {} is sent, not dropped; PromoHub never sends null)
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub metadata: ::std::option::Option<
            ::serde_json::Map<::std::string::String, ::serde_json::Value>,
        >,
        ///Restricts Promo Code use to users who haven't purchased from the company before.
        #[serde(default)]
        pub new_users_only: bool,
        ///The number of billing cycles the Promo Code is applied for. 0 means forever.
        #[serde(default)]
        pub number_of_intervals: i32,
        ///The IDs of plans associated with the Promo Code. Omitted means every plan.
        #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
        pub plan_ids: ::std::vec::Vec<::std::string::String>,
        pub promo_type: PromoType,
        ///The number of total uses remaining for the Promo Code.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub stock: ::std::option::Option<i32>,
        ///Whether or not the Promo Code has unlimited uses.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub unlimited_stock: ::std::option::Option<bool>,
    }
    ///The monetary currency of the Promo Code.
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
    pub enum Currency {
        #[serde(rename = "usd")]
        Usd,
        #[serde(rename = "sgd")]
        Sgd,
        #[serde(rename = "inr")]
        Inr,
        #[serde(rename = "aud")]
        Aud,
        #[serde(rename = "brl")]
        Brl,
        #[serde(rename = "cad")]
        Cad,
        #[serde(rename = "dkk")]
        Dkk,
        #[serde(rename = "eur")]
        Eur,
        #[serde(rename = "nok")]
        Nok,
        #[serde(rename = "gbp")]
        Gbp,
        #[serde(rename = "sek")]
        Sek,
        #[serde(rename = "chf")]
        Chf,
        #[serde(rename = "hkd")]
        Hkd,
        #[serde(rename = "huf")]
        Huf,
        #[serde(rename = "jpy")]
        Jpy,
        #[serde(rename = "mxn")]
        Mxn,
        #[serde(rename = "myr")]
        Myr,
        #[serde(rename = "pln")]
        Pln,
        #[serde(rename = "czk")]
        Czk,
        #[serde(rename = "nzd")]
        Nzd,
        #[serde(rename = "aed")]
        Aed,
        #[serde(rename = "eth")]
        Eth,
        #[serde(rename = "ape")]
        Ape,
        #[serde(rename = "cop")]
        Cop,
        #[serde(rename = "ron")]
        Ron,
        #[serde(rename = "thb")]
        Thb,
        #[serde(rename = "bgn")]
        Bgn,
        #[serde(rename = "idr")]
        Idr,
        #[serde(rename = "dop")]
        Dop,
        #[serde(rename = "php")]
        Php,
        #[serde(rename = "try")]
        Try,
        #[serde(rename = "krw")]
        Krw,
        #[serde(rename = "twd")]
        Twd,
        #[serde(rename = "vnd")]
        Vnd,
        #[serde(rename = "pkr")]
        Pkr,
        #[serde(rename = "clp")]
        Clp,
        #[serde(rename = "uyu")]
        Uyu,
        #[serde(rename = "ars")]
        Ars,
        #[serde(rename = "zar")]
        Zar,
        #[serde(rename = "dzd")]
        Dzd,
        #[serde(rename = "tnd")]
        Tnd,
        #[serde(rename = "mad")]
        Mad,
        #[serde(rename = "kes")]
        Kes,
        #[serde(rename = "kwd")]
        Kwd,
        #[serde(rename = "jod")]
        Jod,
        #[serde(rename = "all")]
        All,
        #[serde(rename = "xcd")]
        Xcd,
        #[serde(rename = "amd")]
        Amd,
        #[serde(rename = "bsd")]
        Bsd,
        #[serde(rename = "bhd")]
        Bhd,
        #[serde(rename = "bob")]
        Bob,
        #[serde(rename = "bam")]
        Bam,
        #[serde(rename = "khr")]
        Khr,
        #[serde(rename = "crc")]
        Crc,
        #[serde(rename = "xof")]
        Xof,
        #[serde(rename = "egp")]
        Egp,
        #[serde(rename = "etb")]
        Etb,
        #[serde(rename = "gmd")]
        Gmd,
        #[serde(rename = "ghs")]
        Ghs,
        #[serde(rename = "gtq")]
        Gtq,
        #[serde(rename = "gyd")]
        Gyd,
        #[serde(rename = "ils")]
        Ils,
        #[serde(rename = "jmd")]
        Jmd,
        #[serde(rename = "mop")]
        Mop,
        #[serde(rename = "mga")]
        Mga,
        #[serde(rename = "mur")]
        Mur,
        #[serde(rename = "mdl")]
        Mdl,
        #[serde(rename = "mnt")]
        Mnt,
        #[serde(rename = "nad")]
        Nad,
        #[serde(rename = "ngn")]
        Ngn,
        #[serde(rename = "mkd")]
        Mkd,
        #[serde(rename = "omr")]
        Omr,
        #[serde(rename = "pyg")]
        Pyg,
        #[serde(rename = "pen")]
        Pen,
        #[serde(rename = "qar")]
        Qar,
        #[serde(rename = "rwf")]
        Rwf,
        #[serde(rename = "sar")]
        Sar,
        #[serde(rename = "rsd")]
        Rsd,
        #[serde(rename = "lkr")]
        Lkr,
        #[serde(rename = "tzs")]
        Tzs,
        #[serde(rename = "ttd")]
        Ttd,
        #[serde(rename = "uzs")]
        Uzs,
        #[serde(rename = "rub")]
        Rub,
        #[serde(rename = "btc")]
        Btc,
    }
    impl ::std::fmt::Display for Currency {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Usd => f.write_str("usd"),
                Self::Sgd => f.write_str("sgd"),
                Self::Inr => f.write_str("inr"),
                Self::Aud => f.write_str("aud"),
                Self::Brl => f.write_str("brl"),
                Self::Cad => f.write_str("cad"),
                Self::Dkk => f.write_str("dkk"),
                Self::Eur => f.write_str("eur"),
                Self::Nok => f.write_str("nok"),
                Self::Gbp => f.write_str("gbp"),
                Self::Sek => f.write_str("sek"),
                Self::Chf => f.write_str("chf"),
                Self::Hkd => f.write_str("hkd"),
                Self::Huf => f.write_str("huf"),
                Self::Jpy => f.write_str("jpy"),
                Self::Mxn => f.write_str("mxn"),
                Self::Myr => f.write_str("myr"),
                Self::Pln => f.write_str("pln"),
                Self::Czk => f.write_str("czk"),
                Self::Nzd => f.write_str("nzd"),
                Self::Aed => f.write_str("aed"),
                Self::Eth => f.write_str("eth"),
                Self::Ape => f.write_str("ape"),
                Self::Cop => f.write_str("cop"),
                Self::Ron => f.write_str("ron"),
                Self::Thb => f.write_str("thb"),
                Self::Bgn => f.write_str("bgn"),
                Self::Idr => f.write_str("idr"),
                Self::Dop => f.write_str("dop"),
                Self::Php => f.write_str("php"),
                Self::Try => f.write_str("try"),
                Self::Krw => f.write_str("krw"),
                Self::Twd => f.write_str("twd"),
                Self::Vnd => f.write_str("vnd"),
                Self::Pkr => f.write_str("pkr"),
                Self::Clp => f.write_str("clp"),
                Self::Uyu => f.write_str("uyu"),
                Self::Ars => f.write_str("ars"),
                Self::Zar => f.write_str("zar"),
                Self::Dzd => f.write_str("dzd"),
                Self::Tnd => f.write_str("tnd"),
                Self::Mad => f.write_str("mad"),
                Self::Kes => f.write_str("kes"),
                Self::Kwd => f.write_str("kwd"),
                Self::Jod => f.write_str("jod"),
                Self::All => f.write_str("all"),
                Self::Xcd => f.write_str("xcd"),
                Self::Amd => f.write_str("amd"),
                Self::Bsd => f.write_str("bsd"),
                Self::Bhd => f.write_str("bhd"),
                Self::Bob => f.write_str("bob"),
                Self::Bam => f.write_str("bam"),
                Self::Khr => f.write_str("khr"),
                Self::Crc => f.write_str("crc"),
                Self::Xof => f.write_str("xof"),
                Self::Egp => f.write_str("egp"),
                Self::Etb => f.write_str("etb"),
                Self::Gmd => f.write_str("gmd"),
                Self::Ghs => f.write_str("ghs"),
                Self::Gtq => f.write_str("gtq"),
                Self::Gyd => f.write_str("gyd"),
                Self::Ils => f.write_str("ils"),
                Self::Jmd => f.write_str("jmd"),
                Self::Mop => f.write_str("mop"),
                Self::Mga => f.write_str("mga"),
                Self::Mur => f.write_str("mur"),
                Self::Mdl => f.write_str("mdl"),
                Self::Mnt => f.write_str("mnt"),
                Self::Nad => f.write_str("nad"),
                Self::Ngn => f.write_str("ngn"),
                Self::Mkd => f.write_str("mkd"),
                Self::Omr => f.write_str("omr"),
                Self::Pyg => f.write_str("pyg"),
                Self::Pen => f.write_str("pen"),
                Self::Qar => f.write_str("qar"),
                Self::Rwf => f.write_str("rwf"),
                Self::Sar => f.write_str("sar"),
                Self::Rsd => f.write_str("rsd"),
                Self::Lkr => f.write_str("lkr"),
                Self::Tzs => f.write_str("tzs"),
                Self::Ttd => f.write_str("ttd"),
                Self::Uzs => f.write_str("uzs"),
                Self::Rub => f.write_str("rub"),
                Self::Btc => f.write_str("btc"),
            }
        }
    }
    impl ::std::str::FromStr for Currency {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "usd" => Ok(Self::Usd),
                "sgd" => Ok(Self::Sgd),
                "inr" => Ok(Self::Inr),
                "aud" => Ok(Self::Aud),
                "brl" => Ok(Self::Brl),
                "cad" => Ok(Self::Cad),
                "dkk" => Ok(Self::Dkk),
                "eur" => Ok(Self::Eur),
                "nok" => Ok(Self::Nok),
                "gbp" => Ok(Self::Gbp),
                "sek" => Ok(Self::Sek),
                "chf" => Ok(Self::Chf),
                "hkd" => Ok(Self::Hkd),
                "huf" => Ok(Self::Huf),
                "jpy" => Ok(Self::Jpy),
                "mxn" => Ok(Self::Mxn),
                "myr" => Ok(Self::Myr),
                "pln" => Ok(Self::Pln),
                "czk" => Ok(Self::Czk),
                "nzd" => Ok(Self::Nzd),
                "aed" => Ok(Self::Aed),
                "eth" => Ok(Self::Eth),
                "ape" => Ok(Self::Ape),
                "cop" => Ok(Self::Cop),
                "ron" => Ok(Self::Ron),
                "thb" => Ok(Self::Thb),
                "bgn" => Ok(Self::Bgn),
                "idr" => Ok(Self::Idr),
                "dop" => Ok(Self::Dop),
                "php" => Ok(Self::Php),
                "try" => Ok(Self::Try),
                "krw" => Ok(Self::Krw),
                "twd" => Ok(Self::Twd),
                "vnd" => Ok(Self::Vnd),
                "pkr" => Ok(Self::Pkr),
                "clp" => Ok(Self::Clp),
                "uyu" => Ok(Self::Uyu),
                "ars" => Ok(Self::Ars),
                "zar" => Ok(Self::Zar),
                "dzd" => Ok(Self::Dzd),
                "tnd" => Ok(Self::Tnd),
                "mad" => Ok(Self::Mad),
                "kes" => Ok(Self::Kes),
                "kwd" => Ok(Self::Kwd),
                "jod" => Ok(Self::Jod),
                "all" => Ok(Self::All),
                "xcd" => Ok(Self::Xcd),
                "amd" => Ok(Self::Amd),
                "bsd" => Ok(Self::Bsd),
                "bhd" => Ok(Self::Bhd),
                "bob" => Ok(Self::Bob),
                "bam" => Ok(Self::Bam),
                "khr" => Ok(Self::Khr),
                "crc" => Ok(Self::Crc),
                "xof" => Ok(Self::Xof),
                "egp" => Ok(Self::Egp),
                "etb" => Ok(Self::Etb),
                "gmd" => Ok(Self::Gmd),
                "ghs" => Ok(Self::Ghs),
                "gtq" => Ok(Self::Gtq),
                "gyd" => Ok(Self::Gyd),
                "ils" => Ok(Self::Ils),
                "jmd" => Ok(Self::Jmd),
                "mop" => Ok(Self::Mop),
                "mga" => Ok(Self::Mga),
                "mur" => Ok(Self::Mur),
                "mdl" => Ok(Self::Mdl),
                "mnt" => Ok(Self::Mnt),
                "nad" => Ok(Self::Nad),
                "ngn" => Ok(Self::Ngn),
                "mkd" => Ok(Self::Mkd),
                "omr" => Ok(Self::Omr),
                "pyg" => Ok(Self::Pyg),
                "pen" => Ok(Self::Pen),
                "qar" => Ok(Self::Qar),
                "rwf" => Ok(Self::Rwf),
                "sar" => Ok(Self::Sar),
                "rsd" => Ok(Self::Rsd),
                "lkr" => Ok(Self::Lkr),
                "tzs" => Ok(Self::Tzs),
                "ttd" => Ok(Self::Ttd),
                "uzs" => Ok(Self::Uzs),
                "rub" => Ok(Self::Rub),
                "btc" => Ok(Self::Btc),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for Currency {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for Currency {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    ///Whop's Error model, {"error": {"status", "message"}}, plus the top-level "message" of its documented 429 body.
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct Error {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub error: ::std::option::Option<ErrorError>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub message: ::std::option::Option<::std::string::String>,
    }
    ///`ErrorError`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct ErrorError {
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub message: ::std::option::Option<::std::string::String>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub status: ::std::option::Option<::std::string::String>,
    }
    ///Pagination model
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct Pagination {
        ///The current page of the paginated response
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub current_page: ::std::option::Option<i32>,
        ///The total number of objects in the paginated response
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub total_count: ::std::option::Option<i32>,
        ///The total number of pages in the paginated response
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub total_page: ::std::option::Option<i32>,
    }
    ///PromoCode model (Whop lists no required fields)
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct PromoCode {
        ///The amount off: a percent for promo_type percentage, else an amount in the currency's major units (10.5 = $10.50).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub amount_off: ::std::option::Option<f64>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub base_currency: ::std::option::Option<Currency>,
        ///The specific code used to apply the Promo Code at checkout.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub code: ::std::option::Option<::std::string::String>,
        ///Creation time in seconds since the Unix epoch.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub created_at: ::std::option::Option<i64>,
        ///The duration setting for the promo code.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub duration: ::std::option::Option<PromoCodeDuration>,
        ///If true
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub existing_memberships_only: ::std::option::Option<bool>,
        ///Expiry in seconds since the Unix epoch.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub expiration_datetime: ::std::option::Option<i64>,
        ///The ID of the Promo Code, like promo_*************
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub id: ::std::option::Option<::std::string::String>,
        ///A polymorphic object containing information that can be user defined
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub metadata: ::std::option::Option<
            ::serde_json::Map<::std::string::String, ::serde_json::Value>,
        >,
        ///Restricts Promo Code use to users who haven't purchased from the company before.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub new_users_only: ::std::option::Option<bool>,
        ///The number of billing cycles the Promo Code is applied for. 0 means forever.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub number_of_intervals: ::std::option::Option<i32>,
        ///Deprecated; use `plans`.
        #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
        pub plan_ids: ::std::vec::Vec<::serde_json::Value>,
        ///Plan ids, or Plan objects when expanded (Whop types it string).
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub plans: ::std::option::Option<::serde_json::Value>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub promo_type: ::std::option::Option<PromoType>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub status: ::std::option::Option<Status>,
        ///The number of total uses remaining for the Promo Code.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub stock: ::std::option::Option<i32>,
        ///Whether or not the Promo Code has unlimited uses.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub unlimited_stock: ::std::option::Option<bool>,
        ///The amount of times the Promo Code has been used.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub uses: ::std::option::Option<i32>,
    }
    ///The duration setting for the promo code.
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
    pub enum PromoCodeDuration {
        #[serde(rename = "forever")]
        Forever,
        #[serde(rename = "once")]
        Once,
        #[serde(rename = "repeating")]
        Repeating,
    }
    impl ::std::fmt::Display for PromoCodeDuration {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Forever => f.write_str("forever"),
                Self::Once => f.write_str("once"),
                Self::Repeating => f.write_str("repeating"),
            }
        }
    }
    impl ::std::str::FromStr for PromoCodeDuration {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "forever" => Ok(Self::Forever),
                "once" => Ok(Self::Once),
                "repeating" => Ok(Self::Repeating),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for PromoCodeDuration {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for PromoCodeDuration {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    ///`PromoCodeList`
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct PromoCodeList {
        #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
        pub data: ::std::vec::Vec<PromoCode>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub pagination: ::std::option::Option<Pagination>,
    }
    ///Whether the Promo Code is a percentage or flat amount off.
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
    pub enum PromoType {
        #[serde(rename = "percentage")]
        Percentage,
        #[serde(rename = "flat_amount")]
        FlatAmount,
    }
    impl ::std::fmt::Display for PromoType {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Percentage => f.write_str("percentage"),
                Self::FlatAmount => f.write_str("flat_amount"),
            }
        }
    }
    impl ::std::str::FromStr for PromoType {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "percentage" => Ok(Self::Percentage),
                "flat_amount" => Ok(Self::FlatAmount),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for PromoType {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for PromoType {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    ///Indicates if the Promo Code is live, disabled, or archived.
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
    pub enum Status {
        #[serde(rename = "active")]
        Active,
        #[serde(rename = "inactive")]
        Inactive,
        #[serde(rename = "archived")]
        Archived,
    }
    impl ::std::fmt::Display for Status {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            match *self {
                Self::Active => f.write_str("active"),
                Self::Inactive => f.write_str("inactive"),
                Self::Archived => f.write_str("archived"),
            }
        }
    }
    impl ::std::str::FromStr for Status {
        type Err = self::error::ConversionError;
        fn from_str(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            match value {
                "active" => Ok(Self::Active),
                "inactive" => Ok(Self::Inactive),
                "archived" => Ok(Self::Archived),
                _ => Err("invalid value".into()),
            }
        }
    }
    impl ::std::convert::TryFrom<&str> for Status {
        type Error = self::error::ConversionError;
        fn try_from(
            value: &str,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    impl ::std::convert::TryFrom<::std::string::String> for Status {
        type Error = self::error::ConversionError;
        fn try_from(
            value: ::std::string::String,
        ) -> ::std::result::Result<Self, self::error::ConversionError> {
            value.parse()
        }
    }
    ///Update a promo code
    #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
    pub struct UpdatePromoCode {
        ///A key value pair of metadata. (nullable only so an empty {} is sent, not dropped; PromoHub never sends null)
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub metadata: ::std::option::Option<
            ::serde_json::Map<::std::string::String, ::serde_json::Value>,
        >,
        ///The IDs of plans associated with the Promo Code.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub plan_ids: ::std::option::Option<::std::vec::Vec<::std::string::String>>,
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub status: ::std::option::Option<Status>,
        ///The number of total uses remaining for the Promo Code.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub stock: ::std::option::Option<i32>,
        ///Whether or not the Promo Code has unlimited uses.
        #[serde(skip_serializing_if = "::std::option::Option::is_none")]
        pub unlimited_stock: ::std::option::Option<bool>,
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
/**Client for Whop API v2 (PromoHub subset)

Version: 0.1.1*/
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
        "0.1.1"
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

List all promo codes.

Sends a `GET` request to `/v2/promo_codes`

Arguments:
- `page`: The page number to retrieve
- `per`: The number of resources to return per page. There is a limit of 50 results per page.
- `status`: Indicates if the Promo Code is live, disabled, or archived.
*/
    pub async fn list_promo_codes<'a>(
        &'a self,
        page: Option<i32>,
        per: Option<i32>,
        status: Option<types::Status>,
    ) -> Result<ResponseValue<types::PromoCodeList>, Error<ByteStream>> {
        let url = format!("{}/v2/promo_codes", self.baseurl,);
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
            .query(&progenitor_client::QueryParam::new("page", &page))
            .query(&progenitor_client::QueryParam::new("per", &per))
            .query(&progenitor_client::QueryParam::new("status", &status))
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
    /**Create a promo code

Creates a new promo code with the given parameters. A promo code can offer a discount or a free period for a specific set of plans or for all plans in your company.

Sends a `POST` request to `/v2/promo_codes`

*/
    pub async fn create_promo_code<'a>(
        &'a self,
        body: &'a types::CreatePromoCode,
    ) -> Result<ResponseValue<types::PromoCode>, Error<ByteStream>> {
        let url = format!("{}/v2/promo_codes", self.baseurl,);
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
            201u16 => ResponseValue::from_response(response).await,
            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            500u16..=599u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
    /**Retrieve a promo code

Sends a `GET` request to `/v2/promo_codes/{id}`

Arguments:
- `id`: The ID of the Promo Code, which will look like `promo_*************`
*/
    pub async fn retrieve_promo_code<'a>(
        &'a self,
        id: &'a str,
    ) -> Result<ResponseValue<types::PromoCode>, Error<ByteStream>> {
        let url = format!(
            "{}/v2/promo_codes/{}", self.baseurl, encode_path(& id.to_string()),
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
            operation_id: "retrieve_promo_code",
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
    /**Update a promo code

Update a promo code's applicable plans, stock, status or metadata. Answers 201.

Sends a `POST` request to `/v2/promo_codes/{id}`

Arguments:
- `id`: The ID of the Promo Code, which will look like `promo_*************`
- `body`
*/
    pub async fn update_promo_code<'a>(
        &'a self,
        id: &'a str,
        body: &'a types::UpdatePromoCode,
    ) -> Result<ResponseValue<types::PromoCode>, Error<ByteStream>> {
        let url = format!(
            "{}/v2/promo_codes/{}", self.baseurl, encode_path(& id.to_string()),
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
            201u16 => ResponseValue::from_response(response).await,
            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            500u16..=599u16 => Err(Error::ErrorResponse(ResponseValue::stream(response))),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
    /**Delete a promo code

Delete a promo code. You can only delete a promo code that has not been used yet. We recommend using the update endpoint and setting its status to 'archived' over this.

Sends a `DELETE` request to `/v2/promo_codes/{id}`

Arguments:
- `id`: The ID of the Promo Code, which will look like `promo_*************`
*/
    pub async fn delete_promo_code<'a>(
        &'a self,
        id: &'a str,
    ) -> Result<ResponseValue<()>, Error<ByteStream>> {
        let url = format!(
            "{}/v2/promo_codes/{}", self.baseurl, encode_path(& id.to_string()),
        );
        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
        header_map
            .append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(Self::api_version()),
            );
        #[allow(unused_mut)]
        let mut request = self.client.delete(url).headers(header_map).build()?;
        let info = OperationInfo {
            operation_id: "delete_promo_code",
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
