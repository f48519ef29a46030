FROM busybox
ENV MY_NAME="John Doe" MY_DOG=Rex\ The\ Dog \
    MY_CAT=fluffy
ENV abc=hello
ENV abc=bye def=$abc
ENV ghi=$abc
ENV PATH /usr/local/bin:$PATH
