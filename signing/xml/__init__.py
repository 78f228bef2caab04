"""The học bạ as XML: the document, its XAdES signatures and the ledger receipt an issued one carries."""
