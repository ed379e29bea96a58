package tabletop

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/kalm-go/kalm/framework/dataset"
)

// phrasings holds each task's goal texts, written for kalm. Training tasks
// have two disjoint sets: the training wording and the rephrase wording (no
// sentence, and no verb-object pattern, appears in both).
var phrasings = map[string]map[string][]string{
	"reach": {
		LevelTrain: {
			"Move the gripper to the target.", "Reach the target location.", "Put the gripper at the goal point.",
			"Bring the hand to the marked spot.", "Go to the target position.", "Reach for the goal location with the gripper.",
			"Move your hand to the target point.", "Position the gripper at the target.", "Get the gripper to the goal.",
			"Place the hand on the target location.",
		},
		LevelRephrase: {
			"Could you steer the claw over to that marked point in the air?", "I need the end effector sitting right at the goal, please.",
			"Glide the robot's fingers to where the marker floats.", "Honestly, just park the claw at the highlighted spot.",
			"The gripper ought to end up exactly at the indicated coordinates.", "Please navigate the manipulator to the destination point.",
			"Would you kindly hover the claw at the designated location?", "Let the end effector arrive at the goal marker.",
		},
	},
	"push": {
		LevelTrain: {
			"Push the puck to the target.", "Slide the puck to the goal position.", "Move the puck to the target location.",
			"Push the puck onto the marked spot.", "Get the puck to the goal.", "Shove the puck over to the target.",
			"Move the puck across the table to the target.", "Push the disc to the goal location.", "Bring the puck to the target spot.",
			"Slide the disc onto the target.",
		},
		LevelRephrase: {
			"That hockey puck is in the wrong place; scoot it over to the marker.", "Could you nudge the flat round piece until it sits on the goal?",
			"I'd be happy if the puck travelled along the tabletop to the indicated point.", "Drag the round token over to the highlighted place.",
			"Please relocate the puck so it rests on the destination mark.", "The puck belongs on the goal marker; sort that out, would you?",
			"Guide the flat cylinder along the surface to the destination.", "Kindly transport the puck to where the marker is.",
		},
	},
	"pick-place": {
		LevelTrain: {
			"Pick up the block and place it at the target.", "Grasp the block and move it to the goal.", "Pick the block and put it at the target location.",
			"Lift the cube and bring it to the target.", "Grab the block and place it on the goal point.", "Pick up the cube and move it to the target position.",
			"Take the block to the target.", "Carry the block to the goal location.", "Pick and place the block at the target.",
			"Hold the cube and put it at the marked point.",
		},
		LevelRephrase: {
			"Could you lift that little cube and set it down where the marker hangs?", "I want the box hoisted up and delivered to the goal, please.",
			"Snatch the square piece and drop it off at the indicated spot.", "The cube should be floating at the destination; pick it up and bring it there.",
			"Raise the block off the table and deposit it at the goal marker.", "Would you kindly fetch the cube and leave it at the highlighted place?",
			"Clutch the box and transport it to the designated point.", "Annoyingly the cube is far from the goal; carry it over for me.",
		},
	},
	"button-press": {
		LevelTrain: {
			"Press the button.", "Push the button down.", "Press down on the red button.", "Hit the button from above.",
			"Push down the button on the box.", "Press the button with the gripper.", "Push the red button.",
			"Press the button on the table.", "Hit the red button.", "Push the button all the way down.",
		},
		LevelRephrase: {
			"Could you give that switch on the box a firm poke from the top?", "I'd love it if the red key got depressed, please.",
			"Smash that little red cap downwards.", "Activate the switch by squeezing it into its housing.",
			"The red knob needs to go down; jab it, would you?", "Please depress the control on top of the grey box.",
			"Tap the red key hard from above.", "Kindly sink the switch into its base.",
		},
	},
	"drawer-open": {
		LevelTrain: {
			"Open the drawer.", "Pull the drawer open.", "Pull out the drawer.", "Open the drawer by its handle.",
			"Grab the handle and pull the drawer out.", "Slide the drawer open.", "Pull the drawer towards you.",
			"Open the cabinet drawer.", "Pull the drawer handle to open it.", "Draw the drawer out.",
		},
		LevelRephrase: {
			"Could you yank the compartment in the cabinet outwards?", "I need to see inside the cupboard's sliding box; extend it, please.",
			"Tug the knob until the compartment comes out.", "The chest's tray is shut; haul it out for me.",
			"Kindly extract the sliding tray from the cabinet.", "Would you drag the cupboard compartment toward the robot?",
			"Heave the knob back so the tray slides out.", "Please get that storage tray extended.",
		},
	},
	"window-open": {
		LevelTrain: {
			"Open the window.", "Slide the window open.", "Push the window to the right to open it.", "Open the sliding window.",
			"Grab the window handle and slide it open.", "Move the window pane to open it.", "Slide the window to the right.",
			"Open the window by its handle.", "Push the window open.", "Slide open the glass window.",
		},
		LevelRephrase: {
			"It's stuffy in here; could you let some air in through the pane?", "I'd like the glass panel shifted aside, please.",
			"Drag the glazing rightwards along its track.", "Kindly part the glass so there is a gap in the frame.",
			"The pane is shut; shove it along its rail for me.", "Would you crack the glass panel by sliding it over?",
			"Move the see-through panel sideways until the frame gapes.", "Please get that pane out of the way to the right.",
		},
	},
	"door-open": {
		LevelTrain: {
			"Open the door.", "Pull the door open.", "Swing the door open.", "Open the door by its handle.",
			"Grab the door handle and pull it open.", "Pull the door towards you.", "Swing the door towards the robot.",
			"Open the hinged door.", "Pull the handle to open the door.", "Swing open the door.",
		},
		LevelRephrase: {
			"Could you let me through by drawing that hinged panel back?", "I'd like the doorway uncovered, please.",
			"Tug the knob so the panel turns on its hinge.", "The entrance is blocked; rotate the panel out of the way for me.",
			"Kindly crack the hinged slab ajar.", "Would you haul the panel round until the frame gapes?",
			"Heave on the knob so the slab pivots our way.", "Please get that hinged panel turned outwards.",
		},
	},
	"reach-wall": {LevelEasy: {
		"Reach the target on the other side of the wall.", "Move the gripper over the wall to the target.",
		"Get the hand to the goal behind the wall.", "Reach over the wall to the goal position.",
		"Go around the wall and reach the target.", "Put the gripper at the target beyond the wall.",
		"Bring the hand past the wall to the goal.", "Reach the goal point without hitting the wall.",
	}},
	"push-wall": {LevelEasy: {
		"Push the puck to the target behind the wall.", "Slide the puck around the wall to the goal.",
		"Move the puck past the wall to the target.", "Get the puck to the goal on the far side of the wall.",
		"Push the puck to the target, going around the wall.", "Bring the puck beyond the wall to the target.",
		"Shove the puck to the goal despite the wall.", "Slide the disc past the wall onto the target.",
	}},
	"pick-place-wall": {LevelEasy: {
		"Pick up the block and place it at the target behind the wall.", "Lift the block over the wall to the goal.",
		"Carry the cube over the wall to the target.", "Grasp the block and move it past the wall to the goal.",
		"Pick the cube and put it at the target beyond the wall.", "Take the block over the wall to the target location.",
		"Move the block across the wall to the goal point.", "Lift the cube past the wall and place it at the target.",
	}},
	"drawer-close": {LevelEasy: {
		"Close the drawer.", "Push the drawer shut.", "Push the drawer closed.", "Slide the drawer back in.",
		"Shut the cabinet drawer.", "Push the open drawer into the cabinet.", "Close the drawer by pushing its handle.",
		"Put the drawer back in.",
	}},
	"window-close": {LevelEasy: {
		"Close the window.", "Slide the window shut.", "Push the window to the left to close it.", "Shut the sliding window.",
		"Slide the window closed.", "Move the window pane back to close it.", "Close the window by its handle.",
		"Slide the glass window shut.",
	}},
	"door-close": {LevelEasy: {
		"Close the door.", "Push the door shut.", "Swing the door closed.", "Shut the door.",
		"Push the open door back into its frame.", "Close the door by its handle.", "Swing the door shut.",
		"Push the door closed.",
	}},
	"pick-place-then-press": {LevelHard: {
		"Pick up the block and place it at the target, then press the button.",
		"First put the block at the goal, then push the button down.",
		"Move the block to the target and afterwards press the button.",
		"Place the cube at the target point, and then hit the button.",
		"Carry the block to the goal, then press down on the red button.",
		"Put the block at the target before pressing the button.",
	}},
	"drawer-open-then-push": {LevelHard: {
		"Open the drawer, then push the puck to the target.",
		"First pull the drawer open, then slide the puck to the goal.",
		"Open the drawer and afterwards move the puck to the target.",
		"Pull out the drawer, and then push the puck onto the target.",
		"Open the cabinet drawer before pushing the puck to the goal.",
		"Slide the drawer open, then get the puck to the target.",
	}},
	"window-open-then-press": {LevelHard: {
		"Open the window, then press the button.",
		"First slide the window open, then push the button down.",
		"Open the window and afterwards hit the button.",
		"Slide open the window, and then press the red button.",
		"Open the sliding window before pressing the button.",
		"Push the window open, then press down on the button.",
	}},
	"push-then-drawer-close": {LevelHard: {
		"Push the puck to the target, then close the drawer.",
		"First slide the puck to the goal, then push the drawer shut.",
		"Move the puck to the target and afterwards close the drawer.",
		"Get the puck onto the target, and then slide the drawer back in.",
		"Push the puck to the goal before closing the drawer.",
		"Slide the disc to the target, then shut the drawer.",
	}},
}

// Phrasings lists the texts of a task at a level (the training tasks have
// LevelTrain and LevelRephrase sets).
func Phrasings(task, level string) []string { return phrasings[task][level] }

// Goal builds the dataset goal of task t at level (t.Level, or LevelRephrase
// for a training task) with n phrasings drawn from rng.
func Goal(t Task, level string, n int, rng *rand.Rand) dataset.Goal {
	all := phrasings[t.Name][level]
	idx := rng.Perm(len(all))
	n = max(1, min(n, len(all)))
	texts := make([]string, n)
	for i := range texts {
		texts[i] = all[idx[i]]
	}
	return dataset.Goal{Level: level, Params: map[string]string{"task": t.Name}, Text: texts[0], Texts: texts, Vector: t.Vector()}
}

// TaskOf recovers the task of a goal: from Params["task"] when present, else
// by recognising its text as one of kalm's phrasings.
func TaskOf(g dataset.Goal) (Task, error) {
	if name, ok := g.Params["task"]; ok {
		return TaskNamed(name)
	}
	if len(g.Params) > 0 {
		return Task{}, fmt.Errorf("tabletop: goal params %v have no \"task\"", g.Params)
	}
	if t, ok := parse(g.Text); ok {
		return t, nil
	}
	return Task{}, fmt.Errorf("tabletop: goal text %q names no task this env knows", g.Text)
}

func normal(s string) string {
	return strings.Trim(strings.ToLower(strings.Join(strings.Fields(s), " ")), " .!?")
}

func parse(text string) (Task, bool) {
	want := normal(text)
	for name, levels := range phrasings {
		for _, texts := range levels {
			for _, p := range texts {
				if normal(p) == want {
					t, err := TaskNamed(name)
					return t, err == nil
				}
			}
		}
	}
	return Task{}, false
}
