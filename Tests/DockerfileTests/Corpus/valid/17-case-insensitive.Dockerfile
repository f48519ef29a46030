from alpine as Builder
run echo hi
Copy --FROM=builder /etc/hosts /hosts
eNv a=b
