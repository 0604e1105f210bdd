public enum IngestModule {}
