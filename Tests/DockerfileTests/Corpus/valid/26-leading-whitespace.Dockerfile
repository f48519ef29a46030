   FROM alpine
	RUN echo indented
    # indented comment
  EXPOSE 8080
