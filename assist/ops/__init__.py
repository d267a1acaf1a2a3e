"""The ops loop: labelled data in, better models and knowledge out."""
