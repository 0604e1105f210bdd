public enum ParsersModule {}
