"""What the tests share: builders, the signing fixture school, the page-test school, test vectors."""
