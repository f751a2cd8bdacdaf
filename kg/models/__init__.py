"""The read side APIs share: graph filters, signed paging, batched model readers."""
