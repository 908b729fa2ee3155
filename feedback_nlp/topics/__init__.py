"""Topics: BERTopic models on the pipeline's encoder, topics over time, emerging topics."""
