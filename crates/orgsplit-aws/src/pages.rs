//! Reading every page of a paginated request, in one place.

/// Every item of every page of a paginated SDK request: `every_page!(request, items)` is a
/// `Result<Vec<Item>, SdkError>`, where `items` is the output's accessor for the page's list
/// (`accounts`, `parameters`, …); map its error with
/// [`AccountSession::error_of`](crate::AccountSession::error_of). The page size stays the
/// caller's choice: set it at the largest size the API allows, every page costs a call.
#[macro_export]
macro_rules! every_page {
    ($request:expr, $items:ident $(,)?) => {
        $request.into_paginator().send().try_collect().await.map(|pages| {
            pages.iter().flat_map(|page| page.$items().iter().cloned()).collect::<Vec<_>>()
        })
    };
}

/// Every item of a listing whose SDK has no paginator (EventBridge's `ListRules` and
/// `ListTargetsByRule`): `page(token)` fetches one page and returns its items and next token.
/// An empty token ends the listing as a missing one does (EventBridge sends either).
pub async fn token_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, crate::AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), crate::AwsError>>,
{
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (found, next) = page(token).await?;
        items.extend(found);
        match next {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(items),
        }
    }
}
