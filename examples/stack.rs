//! The Stack from the Supervisor docs: a GenServer registered as
//! `sup_stack`, supervised one_for_one. Popping an empty stack crashes it;
//! the supervisor starts a new one with the initial stack, `["hello"]`.
//!
//! ```text
//! cargo run --example stack
//! ```

use ember::prelude::*;

/// A stack of strings.
struct Stack(Vec<String>);

enum Call {
    Pop,
}

enum Cast {
    Push(String),
}

// `gen_server!` fills in the types left out (`Continue` here) with `()`.
gen_server! {
    impl GenServer for Stack {
        type Arg = Vec<String>;
        type Call = Call;
        type Reply = String;
        type Cast = Cast;

        fn init(items: Vec<String>) -> Init<Self> {
            Init::Ok(Stack(items))
        }

        fn handle_call(&mut self, Call::Pop: Call, _from: ReplyTo<String>) -> CallResult<Self> {
            // The bug from the docs: nothing handles an empty stack.
            match self.0.pop() {
                Some(top) => CallResult::Reply(top),
                None => panic!("no clause matches: pop on an empty stack"),
            }
        }

        fn handle_cast(&mut self, Cast::Push(item): Cast) -> Action<()> {
            self.0.push(item);
            Action::NoReply
        }
    }
}

/// How the Stack is started under a supervisor: registered as `sup_stack`.
impl Child for Stack {
    fn child_spec(items: Vec<String>) -> ChildSpec {
        ChildSpec::gen_server_opts::<Self>(items, StartOptions::new().name("sup_stack"))
    }
}

fn main() {
    // Show the error reports, as the docs' `=ERROR REPORT====`.
    tracing_subscriber::fmt().with_target(false).with_max_level(tracing::Level::WARN).init();

    ember::run(|| {
        // We are going to supervise the Stack server, which will be started
        // with a single argument: ["hello"].
        let children = vec![Stack::child_spec(vec!["hello".into()])];
        let sup = Supervisor::start_link(children, SupervisorOptions::one_for_one()).expect("start the supervisor");

        let stack: Server<Stack> = Server::new("sup_stack");
        let pop = |stack: &Server<Stack>| stack.call(Call::Pop);

        println!("call(:sup_stack, :pop)          #=> {:?}", pop(&stack).unwrap());
        stack.cast(Cast::Push("world".into()));
        println!("cast(:sup_stack, {{:push, :world}}) #=> ok");
        println!("call(:sup_stack, :pop)          #=> {:?}", pop(&stack).unwrap());

        // The stack is empty: this call crashes the server.
        match pop(&stack) {
            Ok(top) => unreachable!("popped {top:?} from an empty stack"),
            Err(e) => println!("call(:sup_stack, :pop)          #=> error: {e}"),
        }

        // The supervisor serves requests in order, so once it answers this
        // one it has handled the crash and started a new Stack.
        let restarted = sup.which_children().unwrap()[0].pid;
        println!("the supervisor restarted it: {restarted:?}");
        let top = pop(&stack).unwrap();
        println!("call(:sup_stack, :pop) == :hello #=> {}", top == "hello");
        assert_eq!(top, "hello");

        sup.stop(Reason::Normal, None).unwrap();
    })
    .expect("the example failed");
}
