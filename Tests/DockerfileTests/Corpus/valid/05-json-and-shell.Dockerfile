FROM alpine:3.20
RUN ["echo", "exec form"]
RUN echo shell form
RUN [ -f /etc/os-release ] && echo found
CMD [ "sh", "-c", "echo $HOME" ]
ENTRYPOINT exec top -b
CMD ["not json",]
